"""Critic benchmark: catch rate on the hostile corpus, false-reject rate on the good one, and the Critic's cost per
candidate as a fraction of that candidate's training time at the task's default budget.

Training time is measured, not assumed: a short PPO run (SB3 defaults but n_steps=512, DummyVecEnv(4), one
torch thread) on hopper-forward gives its throughput, extrapolated to the card's ``timesteps``.
Run: ``python bench/critic.py``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from corpus_programs import good, hostile

from autoreward.critic import critique
from autoreward.tasks import resolve_task

TASK = "hopper-forward"


def catch_rate() -> tuple[int, int, list[str]]:
    """Hostile programs rejected for their expected reason."""
    caught, missed = 0, []
    for program in hostile():
        verdict = critique(program.source, resolve_task(program.task))
        if any(r.stage == program.expect_stage and program.expect_text in r.message for r in verdict.errors):
            caught += 1
        else:
            missed.append(program.name)
    return caught, len(hostile()), missed


def false_rejects() -> tuple[int, int, list[float]]:
    """Good programs rejected, and the Critic's seconds on each good program of TASK."""
    rejected, seconds = 0, []
    for program in good():
        verdict = critique(program.source, resolve_task(program.task))
        rejected += not verdict.accepted
        if program.task == TASK:
            seconds.append(verdict.seconds)
    return rejected, len(good()), seconds


def ppo_steps_per_second(steps: int) -> float:
    """Measured PPO throughput on TASK with the env's own reward (the reward program adds ~5%, see FACTS)."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    from autoreward.envs.make import make_card_env

    torch.set_num_threads(1)
    card = resolve_task(TASK)
    vec = DummyVecEnv([lambda: make_card_env(card) for _ in range(4)])
    model = PPO("MlpPolicy", vec, n_steps=512, batch_size=64, seed=0, device="cpu", verbose=0)
    model.learn(512 * 4)  # warm-up: first rollout and update
    start = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    elapsed = time.perf_counter() - start
    vec.close()
    return steps / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ppo-steps", type=int, default=16384, help="PPO steps timed for the throughput")
    args = parser.parse_args()

    caught, n_hostile, missed = catch_rate()
    rejected, n_good, seconds = false_rejects()
    per_candidate = statistics.median(seconds)
    throughput = ppo_steps_per_second(args.ppo_steps)
    budget = resolve_task(TASK).timesteps
    training = budget / throughput
    print(f"hostile programs rejected for the expected reason: {caught}/{n_hostile}; missed: {missed or 'none'}")
    print(f"good programs rejected: {rejected}/{n_good}")
    print(
        f"Critic on {TASK} (static + sandboxed dry run, 300 transitions): median {per_candidate:.2f} s over "
        f"{len(seconds)} programs"
    )
    print(
        f"PPO {TASK}, DummyVecEnv(4), 1 torch thread: {throughput:.0f} steps/s measured over {args.ppo_steps} "
        f"steps; extrapolated to the card's {budget} timesteps: {training:.0f} s"
    )
    print(f"catch_rate: {caught / n_hostile:.3f}")
    print(f"false_reject_rate: {rejected / n_good:.3f}")
    print(f"critic_seconds_per_candidate: {per_candidate:.3f}")
    print(f"training_seconds_per_candidate: {training:.1f}")
    print(f"critic_to_training_ratio: {per_candidate / training:.4f}")


if __name__ == "__main__":
    main()
