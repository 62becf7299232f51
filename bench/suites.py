"""PPO throughput per task suite through autoreward's own training, and what one default candidate costs.

For each family (MetaWorld, Fetch, MiniGrid, Crafter) one representative card trains a short budget in the
sandboxed worker every run uses (``train_in_sandbox``: bwrap, seccomp, one torch thread, the suite's PPO settings
and observation wrapper, a generated-style reward over the named State). Throughput is timesteps / seconds inside
``model.learn``, the median of ``--repeats``; the time of one default candidate is the card's ``timesteps`` over
that rate (training only: evaluation episodes come on top). The short budget is raised to one full PPO rollout
(n_envs x n_steps) where the suite's settings need more.

    python bench/suites.py [--timesteps 4096] [--repeats 3] [--families metaworld,fetch,minigrid,crafter]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from autoreward.tasks import catalog
from autoreward.training.hyperparams import settings_for
from autoreward.training.models import TrainJob
from autoreward.training.sandboxed import train_in_sandbox


def _program(body: str) -> str:
    return (
        f"import numpy as np\n\n\ndef compute_reward(prev, action, state):\n    components = {body}\n"
        "    return float(sum(components.values())), components\n"
    )


# family -> (representative card, a reward of the kind the LLM writes for it)
FAMILIES: dict[str, tuple[str, str]] = {
    "metaworld": ("metaworld-push", _program(
        "{'reach': -float(state.hand_obj_distance), 'push': -2.0 * float(state.obj_goal_distance),\n"
        "                  'effort': -0.01 * float(np.sum(action ** 2))}")),
    "fetch": ("fetch-push", _program(
        "{'reach': -float(state.grip_object_distance), 'push': -2.0 * float(state.object_goal_distance)}")),
    "minigrid": ("minigrid-doorkey-5x5", _program(
        "{'key': 0.1 * state.carrying['key'], 'door': 0.2 * state.doors_open,\n"
        "                  'goal': -0.01 * max(state.distance['goal'], 0.0)}")),
    "crafter": ("crafter-collect-wood", _program(
        "{'wood': float(state.inventory['wood'] - prev.inventory['wood']), 'tree': 0.05 * state.front['tree'],\n"
        "                  'alive': 0.01 * state.health / 9.0}")),
}  # fmt: skip


def rollout_size(env_id: str) -> int:
    """Timesteps of one PPO rollout under the suite's settings (SB3 collects at least one)."""
    settings = settings_for(env_id)
    return settings.n_envs * int(settings.ppo.get("n_steps", 2048))


def measure(family: str, timesteps: int, seed: int, scratch: Path) -> float:
    task, program = FAMILIES[family]
    job = TrainJob(
        candidate_id=f"{family}-{seed}", task=task, reward_source=program, timesteps=timesteps, seed=seed,
        eval_episodes=0, plots=False, save_model=False, checkpoints=2,
    )  # fmt: skip
    result = train_in_sandbox(job, scratch / job.candidate_id)
    if result.status != "ok":
        raise SystemExit(f"{family}: training failed: {result.error}\n{result.traceback}")
    return result.fps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timesteps", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--families", default=",".join(FAMILIES))
    args = parser.parse_args()
    families = [f for f in args.families.split(",") if f]
    summary: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for family in families:
            card = catalog()[FAMILIES[family][0]]
            budget = max(args.timesteps, rollout_size(card.env_id))
            rates = [measure(family, budget, args.seed + i, Path(tmp)) for i in range(args.repeats)]
            fps = statistics.median(rates)
            budgets = [c.timesteps for c in catalog().values() if c.family == family]
            print(json.dumps({"family": family, "task": card.name, "timesteps": budget,
                              "fps": [round(r, 1) for r in rates]}), flush=True)  # fmt: skip
            summary += [
                f"{family}_task: {card.name}",
                f"{family}_ppo_steps_per_s: {fps:.0f}",
                f"{family}_default_candidate_min: {card.timesteps / fps / 60:.1f}",
                f"{family}_card_budgets_min: {min(budgets) / fps / 60:.1f}..{max(budgets) / fps / 60:.1f}",
            ]
    print(f"repeats: {args.repeats}")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
