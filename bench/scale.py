"""The same training iteration with the local backend and with Ray on this machine: what Ray costs on one node.

K candidates (two fixed Hopper reward programs, alternating) train through ``train_many`` with every stage a run
has (sandboxed worker, evaluation, plots, model, TensorBoard; the clip only with ``--video``), once with
``train_in_sandbox`` and once with the Ray backend's ``train_one`` (a local Ray with this machine's cores). The
two alternate ``--repeats`` times; the medians and their ratio are reported. Ray's one-off start is timed apart:
a run pays it once, not per iteration.

    python bench/scale.py [--task hopper-forward] [--k 2] [--timesteps 20000] [--repeats 3] [--video]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from overhead import REWARD

from autoreward.runconfig import RunConfig
from autoreward.tasks import resolve_task
from autoreward.training.models import TrainJob
from autoreward.training.parallel import cores, train_many
from autoreward.training.sandboxed import train_in_sandbox

# A second typical program, so the iteration has two different candidates.
PROGRESS = """\
import math

import numpy as np


def compute_reward(prev, action, state):
    progress = (state.x_position - prev.x_position) / 0.008
    upright = 0.5 * max(0.0, state.upright)
    effort = -1e-3 * float(np.dot(action, action))
    tilt = -0.1 * math.tanh(abs(state.angular_velocity[1]))
    components = {"progress": progress, "upright": upright, "effort": effort, "tilt": tilt}
    return float(sum(components.values())), components
"""


def iteration(train_one: Callable, args: argparse.Namespace, root: Path, seed: int) -> tuple[float, float]:
    """Wall time of the iteration, and the candidates' mean PPO throughput inside their sandboxes."""
    programs = [REWARD, PROGRESS]
    jobs = [
        TrainJob(candidate_id=f"c{i}", task=args.task, reward_source=programs[i % 2], timesteps=args.timesteps,
                 seed=seed + i, video=args.video)
        for i in range(args.k)
    ]  # fmt: skip
    started = time.perf_counter()
    results = train_many(jobs, [root / job.candidate_id for job in jobs], workers=args.k, train_one=train_one)
    elapsed = time.perf_counter() - started
    failed = [r for r in results if r.status != "ok"]
    if failed:
        raise SystemExit(f"a candidate failed: {failed[0].error}")
    missing = [r.candidate_id for r in results if not (root / r.candidate_id / r.artifacts["model"]).is_file()]
    if missing:
        raise SystemExit(f"no model on the driver for {missing}")
    return elapsed, statistics.mean(r.fps for r in results)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", default="hopper-forward")
    parser.add_argument("--k", type=int, default=2, help="candidates in the iteration")
    parser.add_argument("--timesteps", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--video", action="store_true")
    args = parser.parse_args()

    from autoreward.ray_backend import import_ray, ray_train_one

    ray = import_ray()
    started = time.perf_counter()
    trainer = ray_train_one(RunConfig(task=args.task, backend="ray"), resolve_task(args.task))
    slots = trainer.slots()  # starts the local Ray
    ray_init_s = time.perf_counter() - started

    runs: dict[str, list[tuple[float, float]]] = {"local": [], "ray": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            for name, train_one in (("local", train_in_sandbox), ("ray", trainer)):
                runs[name].append(iteration(train_one, args, Path(tmp) / f"{name}-{i}", 100 * i))
            row = {f"{name}_s": round(runs[name][-1][0], 2) for name in runs}
            row |= {f"{name}_fps": round(runs[name][-1][1]) for name in runs}
            print(json.dumps({"repeat": i, **row}), flush=True)
    trainer.close()
    ray.shutdown()

    local, on_ray = (statistics.median(wall for wall, _ in runs[name]) for name in ("local", "ray"))
    fps = {name: statistics.median(f for _, f in runs[name]) for name in runs}
    print(f"task: {args.task}")
    print(f"candidates: {args.k}")
    print(f"timesteps: {args.timesteps}")
    print(f"cores: {cores()}")
    print(f"ray_slots: {slots}")
    print(f"ray_init_s: {ray_init_s:.2f}")
    print(f"local_s: {local:.2f}")
    print(f"ray_s: {on_ray:.2f}")
    print(f"local_fps: {fps['local']:.0f}")
    print(f"ray_fps: {fps['ray']:.0f}")
    print(f"ray_to_local_ratio: {on_ray / local:.3f}")


if __name__ == "__main__":
    main()
