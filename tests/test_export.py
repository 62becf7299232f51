"""The exported file stands alone and computes exactly the reward used in training."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from autoreward.envs.make import state_spec
from autoreward.envs.wrapper import ProgramReward
from autoreward.export import write_standalone
from autoreward.reward import load_reward

PROGRAMS = {
    "Hopper-v5": """from __future__ import annotations

import math

import numpy as np


def _alive(state) -> float:
    return 1.0 if state.height > 0.8 else 0.0


def compute_reward(prev, action, state):
    components = {
        "forward": state.x_velocity,
        "alive": _alive(state),
        "control": -1e-3 * float(np.sum(np.square(action))),
        "foot": 0.1 * state["contact"]["foot"] - 0.01 * abs(math.sin(state.joint_angle["foot_joint"])),
    }
    return float(sum(components.values())), components
""",
    "Pendulum-v1": """import numpy as np


def compute_reward(prev, action, state):
    components = {"upright": state.cos_angle, "still": -0.1 * abs(state.angle) * state.angular_velocity ** 2,
                  "torque": -0.001 * float(np.sum(action ** 2))}
    return float(sum(components.values())), components
""",
}


def _in_process(env_id: str, program: str) -> ProgramReward:
    env = gym.make(env_id)
    return ProgramReward(env, load_reward(program), state_spec(env))


@pytest.mark.parametrize("env_id", list(PROGRAMS))
def test_exported_reward_equals_the_training_reward(tmp_path: Path, env_id: str) -> None:
    write_standalone(
        tmp_path / "exported_reward.py", PROGRAMS[env_id], task="t", env_id=env_id, run_id="r", fitness=1.0
    )
    # The file runs in a fresh interpreter that cannot import autoreward: it must stand alone.
    script = f"""
import sys, json
sys.modules["autoreward"] = None
sys.path.insert(0, {str(tmp_path)!r})
import gymnasium, numpy as np
from exported_reward import RewardWrapper
env = RewardWrapper(gymnasium.make({env_id!r}))
env.reset(seed=7)
rng = np.random.default_rng(0)
rewards = []
for _ in range(60):
    action = rng.uniform(env.action_space.low, env.action_space.high).astype(env.action_space.dtype)
    obs, reward, terminated, truncated, info = env.step(action)
    rewards.append(reward)
    assert set(info["reward_components"]) and "builtin_reward" in info
    if terminated or truncated:
        break
print(json.dumps(rewards))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    exported = [float(x) for x in done.stdout.split("[")[-1].rstrip("]\n").split(",")]

    env = _in_process(env_id, PROGRAMS[env_id])
    env.reset(seed=7)
    rng = np.random.default_rng(0)
    expected = []
    for _ in range(len(exported)):
        action = rng.uniform(env.action_space.low, env.action_space.high).astype(env.action_space.dtype)
        expected.append(float(env.step(action)[1]))
    assert exported == expected


def test_exported_file_is_clean_python(tmp_path: Path) -> None:
    path = write_standalone(
        tmp_path / "r.py", PROGRAMS["Hopper-v5"], task="t", env_id="Hopper-v5", run_id="r", fitness=None
    )
    text = path.read_text()
    assert not [line for line in text.splitlines() if line.startswith(("from autoreward", "import autoreward"))]
    assert text.count("def compute_reward(") == 1
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--select", "F", "--isolated", str(path)],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout
