"""Wall time of W candidates trained at once (W = the machine's cores) over one candidate alone.

Each candidate is a real sandboxed worker (the one every run uses) training PPO on Hopper with a generated
reward. ``--repeats`` pairs alternate and the median ratio is reported. Goal: <= 1.15.

    python bench/parallel.py [--timesteps 8192] [--repeats 3] [--workers W]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from overhead import REWARD, TASK

from autoreward.training.models import TrainJob
from autoreward.training.parallel import train_many


def wall(count: int, timesteps: int, seed: int, root: Path) -> float:
    jobs = [
        TrainJob(candidate_id=f"c{seed}-{i}", task=TASK, reward_source=REWARD, timesteps=timesteps, seed=seed + i,
                 eval_episodes=0, plots=False, save_model=False)
        for i in range(count)
    ]  # fmt: skip
    started = time.perf_counter()
    results = train_many(jobs, [root / f"{count}-{seed}" / job.candidate_id for job in jobs], workers=count)
    elapsed = time.perf_counter() - started
    failed = [r for r in results if r.status != "ok"]
    if failed:
        raise SystemExit(f"a candidate failed: {failed[0].error}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timesteps", type=int, default=8192)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            one = wall(1, args.timesteps, 100 * i, Path(tmp))
            many = wall(args.workers, args.timesteps, 100 * i, Path(tmp))
            ratios.append(many / one)
            print(json.dumps({"repeat": i, "one_s": round(one, 2), f"{args.workers}_at_once_s": round(many, 2),
                              "ratio": round(many / one, 3)}), flush=True)  # fmt: skip
    print(f"workers: {args.workers}")
    print(f"timesteps: {args.timesteps}")
    print(f"parallel_ratio: {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
