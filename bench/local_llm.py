"""How far the embedded model (``--model local``) gets: valid programs, seconds per accepted one, true fitness.

For three catalog tasks (one classic-control, two MuJoCo), one llama.cpp server (the product's own
``serving``) answers three prompt conditions: the full prompt written for hosted models, the skeleton prompt,
and the skeleton prompt with the GBNF grammar. Each condition asks for ``--samples`` programs in one call and
counts those the Critic's static check and sandboxed dry run accept (no LLM review). Then the real loop runs
once per task with the local model's defaults (skeleton, grammar, re-sampling), one iteration at a small
budget, and its best true fitness is compared with plain SB3 PPO trained on the env's built-in reward at the
same budget, same hyper-parameters and evaluation seeds.

    python bench/local_llm.py [--samples 4] [--timesteps 15000] [--tasks cartpole-balance,hopper-forward,...]

``--speed ROUNDS`` instead compares the server as it was started before (every prompt token's logits kept)
with today's settings: per round each setting in turn (the order alternating) serves the first
task's skeleton+grammar prompt with ``--samples`` programs; the lines are the median seconds per call, per
accepted program, the programs' validity and whether both settings wrote the same programs (one fixed seed).

Timings depend on the CPU and on what else runs on it; the last lines are ``name: value``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from autoreward.config import LLMSettings
from autoreward.critic import critique
from autoreward.describe import describe
from autoreward.designer import Designer
from autoreward.local_llm.endpoint import LOCAL_MAX_TOKENS, LOCAL_TEMPERATURE, LOCAL_TIMEOUT_S, serving
from autoreward.local_llm.model import ensure_model
from autoreward.local_llm.server import ALIAS, LocalServer
from autoreward.loop import Loop
from autoreward.observer import LoopObserver
from autoreward.parts import default_parts
from autoreward.runconfig import RunConfig
from autoreward.runs import create_run
from autoreward.store import RunStore
from autoreward.tasks import TaskCard, resolve_task
from autoreward.training.parallel import cores

TASKS = ("cartpole-balance", "hopper-forward", "halfcheetah-forward")
CONDITIONS = {  # name -> (prompt_style, grammar)
    "free-form": ("full", False),
    "skeleton": ("skeleton", False),
    "skeleton+grammar": ("skeleton", True),
}


SERVER_SETTINGS = {  # name -> LocalServer options; "before" is llama-cpp-python's server defaults
    "before": {"logits_all": True},
    "after": {},
}


@dataclass
class Validity:
    asked: int
    accepted: int
    seconds: float
    programs: str = ""  # a digest of the programs' text: equal digests, equal programs

    @property
    def rate(self) -> float:
        return self.accepted / self.asked if self.asked else 0.0

    @property
    def seconds_per_accepted(self) -> float | None:
        return self.seconds / self.accepted if self.accepted else None


def validity(card: TaskCard, text: str, live: LLMSettings, style: str, grammar: bool, samples: int) -> Validity:
    settings = live.model_copy(update={"prompt_style": style, "grammar": grammar, "samples": samples})
    started = time.perf_counter()
    design = Designer(settings).design(card, text)
    seconds = time.perf_counter() - started
    accepted = 0
    digest = hashlib.sha256()
    for candidate in design.candidates:
        digest.update((candidate.source or "").encode())
        with tempfile.TemporaryDirectory() as scratch:  # the dry run's files are its own, per candidate
            if candidate.source is not None and critique(candidate.source, card, scratch=Path(scratch)).accepted:
                accepted += 1
    return Validity(samples, accepted, seconds, digest.hexdigest()[:12])


def speed(card: TaskCard, rounds: int, samples: int) -> None:
    """Before and after server settings, alternately on the same prompt; prints medians and their ratio."""
    text = describe(card).render(None)
    found: dict[str, list[Validity]] = {name: [] for name in SERVER_SETTINGS}
    for round_ in range(rounds):
        order = list(SERVER_SETTINGS) if round_ % 2 == 0 else list(reversed(SERVER_SETTINGS))
        for name in order:
            with LocalServer(ensure_model(), **SERVER_SETTINGS[name]) as server:
                live = LLMSettings(
                    model=f"openai/{ALIAS}", api_base=server.api_base, timeout=LOCAL_TIMEOUT_S,
                    max_tokens=LOCAL_MAX_TOKENS, temperature=LOCAL_TEMPERATURE,
                )  # fmt: skip
                result = validity(card, text, live, "skeleton", True, samples)
            found[name].append(result)
            print(
                f"round {round_} {name}: {result.accepted}/{result.asked} valid in {result.seconds:.1f} s "
                f"(programs {result.programs})",
                flush=True,
            )
    medians = {name: statistics.median(r.seconds for r in rows) for name, rows in found.items()}
    print()
    for name, rows in found.items():
        accepted = sum(r.accepted for r in rows)
        asked = sum(r.asked for r in rows)
        per = sum(r.seconds for r in rows) / accepted if accepted else None
        print(f"median_seconds_per_call_{name}: {medians[name]:.1f}")
        print(f"seconds_per_accepted_{name}: {_fmt(per)}")
        print(f"valid_rate_{name}: {accepted / asked if asked else 0:.3f}")
    same = {r.programs for rows in found.values() for r in rows}
    print(f"same_programs: {len(same) == 1}")
    for name in list(SERVER_SETTINGS)[1:]:
        print(f"speedup_before_over_{name}: {medians['before'] / medians[name]:.2f}")


def loop_fitness(card: TaskCard, live: LLMSettings, timesteps: int, eval_episodes: int, root: Path) -> float | None:
    """The best true fitness of one iteration of the real loop with the local model's defaults."""
    config = RunConfig(
        task=card.name, iterations=1, timesteps=timesteps, llm_review=False, video=False,
        eval_episodes=eval_episodes, llm=LLMSettings(model="local", samples=2),
    )  # fmt: skip
    store = RunStore(root)
    run_id = create_run(store, card, config, f"bench-{card.name}")
    outcome = Loop(store, run_id, card, default_parts(config, card), LoopObserver(), live).run()
    return outcome.best_fitness


def plain_sb3_fitness(card: TaskCard, timesteps: int, eval_episodes: int, seed: int = 0) -> float:
    """PPO on the built-in reward (no autoreward wrapper in training), judged by the card's true fitness."""
    import gymnasium as gym
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    from autoreward.training.evaluator import evaluate
    from autoreward.training.hyperparams import model_kwargs, settings_for
    from autoreward.training.trainer import deterministic_policy

    torch.set_num_threads(1)
    settings = settings_for(card.env_id)
    venv = DummyVecEnv([lambda: gym.make(card.env_id, **card.env_kwargs) for _ in range(settings.n_envs)])
    model = PPO("MlpPolicy", venv, seed=seed, verbose=0, device="cpu", **model_kwargs(settings))
    model.learn(total_timesteps=timesteps)
    zero = lambda prev, action, state: (0.0, {})  # noqa: E731  (evaluation reads the true fitness only)
    return evaluate(card, deterministic_policy(model), zero, eval_episodes, seed).fitness_mean


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=4, help="programs per task and condition")
    parser.add_argument("--timesteps", type=int, default=15000, help="training budget of the loop and baseline")
    parser.add_argument("--eval-episodes", type=int, default=5)
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--no-loop", action="store_true", help="only the valid-program rates")
    parser.add_argument("--speed", type=int, metavar="ROUNDS", help="compare server settings before/after")
    args = parser.parse_args()
    tasks = [resolve_task(name) for name in args.tasks.split(",")]
    os.environ.setdefault("MUJOCO_GL", "egl")
    if args.speed:
        speed(tasks[0], args.speed, args.samples)
        return
    results: dict[tuple[str, str], Validity] = {}
    fitness: dict[str, tuple[float | None, float | None]] = {}
    print(f"cores: {cores()}, load average at start: {os.getloadavg()[0]:.1f}", flush=True)
    with serving(LLMSettings(model="local")) as live, tempfile.TemporaryDirectory() as tmp:
        for card in tasks:
            text = describe(card).render(None)
            for name, (style, grammar) in CONDITIONS.items():
                found = validity(card, text, live, style, grammar, args.samples)
                results[card.name, name] = found
                print(f"{card.name} {name}: {found.accepted}/{found.asked} valid in {found.seconds:.0f} s", flush=True)
            if not args.no_loop:
                loop = loop_fitness(card, live, args.timesteps, args.eval_episodes, Path(tmp) / card.name)
                plain = plain_sb3_fitness(card, args.timesteps, args.eval_episodes)
                fitness[card.name] = (loop, plain)
                print(f"{card.name} loop fitness {_fmt(loop)} vs plain SB3 {_fmt(plain)}", flush=True)

    print()
    print(f"{'task':<20} {'condition':<17} {'valid':>6} {'rate':>5} {'s/accepted':>10}")
    for (task, name), found in results.items():
        print(
            f"{task:<20} {name:<17} {found.accepted:>3}/{found.asked:<2} {found.rate:>5.2f} "
            f"{_fmt(found.seconds_per_accepted):>10}"
        )
    if fitness:
        print(f"\n{'task':<20} {'loop fitness':>12} {'plain SB3':>10} {'ratio':>6}   ({args.timesteps} steps)")
        for task, (loop, plain) in fitness.items():
            ratio = loop / plain if loop is not None and plain and plain > 0 else None
            print(f"{task:<20} {_fmt(loop, 2):>12} {_fmt(plain, 2):>10} {_fmt(ratio, 2):>6}")
    print()
    for name in CONDITIONS:
        rows = [found for (_, cond), found in results.items() if cond == name]
        asked, accepted = sum(r.asked for r in rows), sum(r.accepted for r in rows)
        seconds = sum(r.seconds for r in rows)
        key = name.replace("+", "_").replace("-", "_")
        print(f"valid_rate_{key}: {accepted / asked if asked else 0:.3f}")
        print(f"seconds_per_accepted_{key}: {_fmt(seconds / accepted if accepted else None)}")
    for task, (loop, plain) in fitness.items():
        ratio = loop / plain if loop is not None and plain and plain > 0 else None
        print(f"fitness_ratio_{task.replace('-', '_')}: {_fmt(ratio, 3)}")


if __name__ == "__main__":
    main()
