"""PPO throughput with a generated reward through autoreward's worker, over plain SB3 PPO with the built-in reward.

Same env (Hopper-v5), same PPO settings (rl-zoo3's Hopper entry, VecNormalize, Monitor), both in fresh worker
processes with one torch thread; autoreward's is the sandboxed worker every run uses (bwrap, seccomp, limits).
Throughput is timesteps / seconds inside ``model.learn``. The two alternate
``--repeats`` times and the median ratio is reported (the machine is noisy). Goal: >= 0.95.

    python bench/overhead.py [--timesteps 16384] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autoreward.training.models import TrainJob
from autoreward.training.sandboxed import train_in_sandbox

TASK = "hopper-forward"
ENV_ID = "Hopper-v5"

# A typical generated program: five numpy terms over named State fields.
REWARD = """\
import numpy as np


def compute_reward(prev, action, state):
    forward = 1.5 * state.x_velocity
    alive = 1.0 if state.height > 0.8 else 0.0
    upright = 0.5 * state.upright
    control = -1e-3 * float(np.sum(np.square(action)))
    smooth = -0.01 * abs(state.z_velocity)
    components = {"forward": forward, "alive": alive, "upright": upright, "control": control, "smooth": smooth}
    return float(sum(components.values())), components
"""


def plain_sb3(timesteps: int, seed: int) -> float:
    """Timesteps/s of SB3 PPO on the env's own reward: what a user without autoreward would run."""
    import gymnasium as gym
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    from autoreward.training.hyperparams import ppo_kwargs, settings_for

    torch.set_num_threads(1)
    settings = settings_for(ENV_ID)
    venv = DummyVecEnv([lambda: Monitor(gym.make(ENV_ID)) for _ in range(settings.n_envs)])
    venv.seed(seed)
    if settings.normalize:
        venv = VecNormalize(venv, gamma=settings.ppo.get("gamma", 0.99))
    model = PPO("MlpPolicy", venv, seed=seed, verbose=0, device="cpu", **ppo_kwargs(settings))
    started = time.perf_counter()
    model.learn(total_timesteps=timesteps)
    return model.num_timesteps / (time.perf_counter() - started)


def plain_in_child(timesteps: int, seed: int) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--plain", "--timesteps", str(timesteps), "--seed", str(seed)],
        capture_output=True, text=True, check=True, env={**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
    )  # fmt: skip
    return float(out.stdout.strip().splitlines()[-1])


def autoreward_fps(timesteps: int, seed: int, scratch: Path) -> float:
    job = TrainJob(
        candidate_id=f"bench-{seed}", task=TASK, reward_source=REWARD, timesteps=timesteps, seed=seed,
        eval_episodes=0, plots=False, save_model=False,
    )  # fmt: skip
    result = train_in_sandbox(job, scratch / job.candidate_id)
    if result.status != "ok":
        raise SystemExit(f"autoreward run failed: {result.error}\n{result.traceback}")
    return result.fps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timesteps", type=int, default=16384)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plain", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain:
        print(plain_sb3(args.timesteps, args.seed))
        return
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            plain = plain_in_child(args.timesteps, args.seed + i)
            ours = autoreward_fps(args.timesteps, args.seed + i, Path(tmp))
            ratios.append(ours / plain)
            print(json.dumps({"repeat": i, "plain_fps": round(plain, 1), "autoreward_fps": round(ours, 1),
                              "ratio": round(ours / plain, 3)}), flush=True)  # fmt: skip
    print(f"timesteps: {args.timesteps}")
    print(f"repeats: {args.repeats}")
    print(f"overhead_ratio: {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
