"""Wall time of K candidates trained on W workers (W = the cores) over the ideal: ceil(K / W) x one alone.

Each candidate is a real sandboxed worker (the one every run uses) training PPO on Hopper with a generated
reward, with its final evaluation and plots on, as in a run. Each repeat measures one candidate alone, then each
K; the median ratio and its spread (min-max) over ``--repeats`` are reported. Goal: <= 1.10 for K = cores.

    python bench/parallel.py [--timesteps 8192] [--repeats 3] [--counts 2,4] [--workers W]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # overhead.py, from the repo root or from bench/

from overhead import REWARD, TASK

from autoreward.training.models import TrainJob
from autoreward.training.parallel import cores, train_many


def wall(count: int, workers: int, timesteps: int, seed: int, root: Path) -> float:
    jobs = [
        TrainJob(candidate_id=f"c{seed}-{i}", task=TASK, reward_source=REWARD, timesteps=timesteps, seed=seed + i,
                 eval_episodes=3, plots=True, save_model=True)
        for i in range(count)
    ]  # fmt: skip
    started = time.perf_counter()
    results = train_many(jobs, [root / f"{count}-{seed}" / job.candidate_id for job in jobs], workers=workers)
    elapsed = time.perf_counter() - started
    failed = [r for r in results if r.status != "ok"]
    if failed:
        raise SystemExit(f"a candidate failed: {failed[0].error}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timesteps", type=int, default=8192)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--counts", default="2,4", help="K values, comma-separated")
    parser.add_argument("--workers", type=int, default=cores())
    args = parser.parse_args()
    counts = [int(k) for k in args.counts.split(",")]
    ratios: dict[int, list[float]] = {k: [] for k in counts}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            one = wall(1, 1, args.timesteps, 100 * i, Path(tmp))
            row: dict[str, float] = {"repeat": i, "one_s": round(one, 2)}
            for k in counts:
                many = wall(k, args.workers, args.timesteps, 100 * i, Path(tmp))
                ratios[k].append(many / (math.ceil(k / args.workers) * one))
                row[f"k{k}_s"] = round(many, 2)
            print(json.dumps(row), flush=True)
    print(f"load: {os.getloadavg()[0]:.1f}")
    print(f"workers: {args.workers}")
    print(f"timesteps: {args.timesteps}")
    for k, values in ratios.items():
        print(f"k{k}_spread: {min(values):.3f}-{max(values):.3f}")
    for k, values in ratios.items():
        print(f"k{k}_ratio: {statistics.median(values):.3f}")
    print(f"parallel_ratio: {statistics.median(ratios.get(args.workers, ratios[counts[0]])):.3f}")


if __name__ == "__main__":
    main()
