"""PPO throughput through each layer autoreward adds, over plain SB3 PPO with the built-in reward.

Same env (Hopper-v5), same PPO settings (rl-zoo3's Hopper entry, VecNormalize, Monitor), every measurement in
a fresh process with one torch thread; throughput is timesteps / seconds inside ``model.learn``. The layers:

- ``plain``: SB3 PPO on the env's own reward (what a user without autoreward runs);
- ``wrappers``: autoreward's training in a plain process (reward program, State, tracking, callbacks);
- ``worker``: the sandboxed worker without its seccomp filter (bwrap, limits, the event channel);
- ``sandbox``: the full sandbox every run uses; ``sandbox_no_tb`` the same without TensorBoard;
- ``heavy``: the full sandbox with a heavier program (18 terms, helper functions), the realistic case.

Each repeat measures every layer once, in turn; the median ratio to ``plain`` per layer is reported (the
machine is noisy). Goal: sandbox >= 0.98 for the typical program.

First, without PPO, the cost of a step itself: random actions through a DummyVecEnv of one env, plain
``Monitor(Hopper-v5)`` against autoreward's training stack (``FitnessRecorder(Monitor(RewardContract(
ProgramReward(env))))``, the State narrowed to the program's fields) with the typical and the heavy program;
µs per step, medians of interleaved repeats in this process. ``--steps-only`` stops there.

    python bench/overhead.py [--timesteps 8192] [--repeats 3] [--steps-only]
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from autoreward.sandbox.jobs import Job
from autoreward.sandbox.run import run_in_sandbox
from autoreward.training.job import train_candidate
from autoreward.training.models import TrainJob, TrainResult
from autoreward.training.sandboxed import TRAIN, train_in_sandbox, training_limits

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

# A heavier one, as careful LLM answers look: helpers, per-joint terms, 18 components.
HEAVY = """\
import math

import numpy as np

TARGET_HEIGHT = 1.25


def tolerance(x, low, high, margin):
    if low <= x <= high:
        return 1.0
    d = (low - x) if x < low else (x - high)
    return math.exp(-((d / margin) ** 2))


def joint_terms(state, prev):
    out = {}
    for name in ("thigh_joint", "leg_joint", "foot_joint"):
        angle = float(state.joint_angle[name])
        speed = float(state.joint_velocity[name])
        out[f"{name}_range"] = -0.02 * max(0.0, abs(angle) - 1.0)
        out[f"{name}_speed"] = -1e-3 * speed * speed
        out[f"{name}_jerk"] = -1e-4 * abs(speed - float(prev.joint_velocity[name]))
    return out


def compute_reward(prev, action, state):
    action = np.asarray(action, dtype=float)
    components = {
        "forward": 1.5 * state.x_velocity,
        "progress": 2.0 * (state.x_position - prev.x_position),
        "alive": 1.0 if state.height > 0.8 else 0.0,
        "height": 0.3 * tolerance(state.height, TARGET_HEIGHT - 0.1, TARGET_HEIGHT + 0.3, 0.2),
        "upright": 0.5 * state.upright,
        "angular": -0.01 * float(np.linalg.norm(state.angular_velocity)),
        "bounce": -0.01 * abs(state.z_velocity),
        "control": -1e-3 * float(np.sum(np.square(action))),
        "saturation": -1e-3 * float(np.sum(np.abs(action) > 0.95)),
        **joint_terms(state, prev),
    }
    return float(sum(components.values())), components
"""

LAYERS = ("plain", "wrappers", "worker", "sandbox", "sandbox_no_tb", "heavy")


def _job(seed: int, source: str = REWARD, tensorboard: bool = True) -> TrainJob:
    return TrainJob(candidate_id=f"bench-{seed}", task=TASK, reward_source=source, timesteps=ARGS.timesteps,
                    seed=seed, eval_episodes=0, plots=False, save_model=False, tensorboard=tensorboard)  # fmt: skip


def plain_sb3(timesteps: int, seed: int) -> float:
    """Timesteps/s of SB3 PPO on the env's own reward: what a user without autoreward would run."""
    import gymnasium as gym
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    from autoreward.training.hyperparams import model_kwargs, settings_for

    torch.set_num_threads(1)
    settings = settings_for(ENV_ID)
    venv = DummyVecEnv([lambda: Monitor(gym.make(ENV_ID)) for _ in range(settings.n_envs)])
    venv.seed(seed)
    if settings.normalize:
        venv = VecNormalize(venv, gamma=settings.ppo.get("gamma", 0.99))
    model = PPO("MlpPolicy", venv, seed=seed, verbose=0, device="cpu", **model_kwargs(settings))
    started = time.perf_counter()
    model.learn(total_timesteps=timesteps)
    return model.num_timesteps / (time.perf_counter() - started)


def in_child(layer: str, seed: int) -> float:
    """``plain`` and ``wrappers`` run in a fresh child process, as the sandboxed layers do."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", layer, "--timesteps", str(ARGS.timesteps), "--seed", str(seed)],
        capture_output=True, text=True, check=True, env={**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
    )  # fmt: skip
    return float(out.stdout.strip().splitlines()[-1])


def _fps(result: TrainResult) -> float:
    if result.status != "ok":
        raise SystemExit(f"autoreward run failed: {result.error}\n{result.traceback}")
    return result.fps


def measure(layer: str, seed: int, scratch: Path) -> float:
    where = scratch / f"{layer}-{seed}"
    if layer in ("plain", "wrappers"):
        return in_child(layer, seed)
    if layer == "worker":
        job = _job(seed)
        sandbox_job = Job(entry_point=TRAIN, source=job.reward_source or "", params=job.model_dump(mode="json"))
        report = run_in_sandbox(sandbox_job, where, training_limits(job.timesteps or 0), seccomp=False)
        if not report.ok:
            raise SystemExit(f"worker without seccomp failed: {report.describe()}")
        return _fps(TrainResult.model_validate(report.result))
    if layer == "sandbox":
        return _fps(train_in_sandbox(_job(seed), where))
    if layer == "sandbox_no_tb":
        return _fps(train_in_sandbox(_job(seed, tensorboard=False), where))
    return _fps(train_in_sandbox(_job(seed, HEAVY), where))


def child(layer: str, seed: int) -> float:
    if layer == "plain":
        return plain_sb3(ARGS.timesteps, seed)
    with tempfile.TemporaryDirectory() as tmp:
        return _fps(train_candidate(_job(seed), Path(tmp)))


def _step_stack(source: str | None) -> Any:
    """A DummyVecEnv of one Hopper: plain ``Monitor`` (``source`` None), or autoreward's training stack."""
    import gymnasium as gym
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    from autoreward.reward import load_reward, names_read
    from autoreward.tasks import resolve_task
    from autoreward.training.stats import WindowRecorder
    from autoreward.training.trainer import make_training_env

    if source is None:
        return DummyVecEnv([lambda: Monitor(gym.make(ENV_ID))])
    card = resolve_task(TASK)
    return make_training_env(card, load_reward(source), 1, ARGS.seed, WindowRecorder(), normalize=False,
                             program_names=names_read(source))  # fmt: skip


def _time_steps(venv: Any, actions: np.ndarray) -> float:
    """µs per ``venv.step`` over ``actions``."""
    venv.reset()
    step: Callable[[np.ndarray], Any] = venv.step
    started = time.perf_counter()
    for action in actions:
        step(action)
    return (time.perf_counter() - started) / len(actions) * 1e6


def step_costs(steps: int, repeats: int) -> dict[str, float]:
    """Median µs per step of each stack, repeats interleaved so that load changes hit all three alike."""
    stacks = {"plain": _step_stack(None), "typical": _step_stack(REWARD), "heavy": _step_stack(HEAVY)}
    actions = np.random.default_rng(ARGS.seed).uniform(-1, 1, (steps, 1, 3)).astype(np.float32)
    for venv in stacks.values():
        _time_steps(venv, actions[: steps // 10])  # warm up
    times: dict[str, list[float]] = {name: [] for name in stacks}
    for _ in range(repeats):
        for name, venv in stacks.items():
            times[name].append(_time_steps(venv, actions))
    for venv in stacks.values():
        venv.close()
    return {name: statistics.median(values) for name, values in times.items()}


def print_step_costs() -> None:
    costs = step_costs(ARGS.steps, max(3, ARGS.repeats))
    for name, us in costs.items():
        print(f"step_us_{name}: {us:.1f}")
    for name in ("typical", "heavy"):
        print(f"step_ratio_{name}: {costs['plain'] / costs[name]:.3f}")


def main() -> None:
    if ARGS.child:
        import torch

        torch.set_num_threads(1)
        print(child(ARGS.child, ARGS.seed))
        return
    print(f"load: {os.getloadavg()[0]:.1f}")
    print_step_costs()
    if ARGS.steps_only:
        return
    ratios: dict[str, list[float]] = {layer: [] for layer in LAYERS[1:]}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(ARGS.repeats):
            fps = {layer: measure(layer, ARGS.seed + i, Path(tmp)) for layer in LAYERS}
            for layer in LAYERS[1:]:
                ratios[layer].append(fps[layer] / fps["plain"])
            print(json.dumps({"repeat": i, **{k: round(v, 1) for k, v in fps.items()}}), flush=True)
    print(f"load: {os.getloadavg()[0]:.1f}")
    print(f"timesteps: {ARGS.timesteps}")
    print(f"repeats: {ARGS.repeats}")
    for layer, values in ratios.items():
        print(f"{layer}_spread: {min(values):.3f}-{max(values):.3f}")
    for layer, values in ratios.items():
        print(f"{layer}_ratio: {statistics.median(values):.3f}")
    print(f"overhead_ratio: {statistics.median(ratios['sandbox']):.3f}")


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timesteps", type=int, default=8192)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=5000, help="random steps per stack per repeat, without PPO")
    parser.add_argument("--steps-only", action="store_true", help="measure the step costs only, not PPO")
    parser.add_argument("--child", choices=("plain", "wrappers"), help=argparse.SUPPRESS)
    return parser.parse_args()


ARGS = (
    _args()
    if __name__ == "__main__"
    else argparse.Namespace(timesteps=8192, repeats=3, seed=0, child=None, steps=5000, steps_only=False)
)

if __name__ == "__main__":
    main()
