"""A pure-Python continuous env for tests: a point on a line, pushed by a force; no MuJoCo model, no layout."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


class PointLine(gym.Env):
    """Observation (position, velocity, bias 1.0); action a force in [-1, 1]."""

    observation_space = gym.spaces.Box(-10.0, 10.0, (3,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.x, self.v = float(self.np_random.uniform(-0.1, 0.1)), 0.0
        return self._obs(), {}

    def _obs(self) -> np.ndarray:
        return np.array([self.x, self.v, 1.0], dtype=np.float32)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.v = 0.8 * self.v + 0.2 * float(np.clip(action[0], -1.0, 1.0))
        self.x = float(np.clip(self.x + 0.1 * self.v, -5.0, 5.0))
        return self._obs(), 0.0, False, False, {}


if "PointLine-v0" not in gym.registry:
    gym.register("PointLine-v0", entry_point=PointLine, max_episode_steps=50)
