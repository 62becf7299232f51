"""A gymnasium Wrapper that replaces the env's reward with a reward program over the named State.

Like gymnasium's MuJoCo ``_get_rew()``, the program returns ``(reward, components)``; the components and the
env's own reward travel in ``info`` so that callbacks can analyse them. Depends only on numpy and gymnasium
(plus the State module), so the exported standalone file ships it unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from autoreward.envs.state import State, StateSpec, sealed

RewardFn = Callable[[State, np.ndarray, State], tuple[float, dict[str, float]]]


BUILTIN_COMPONENT = "builtin"


class ProgramReward(gym.Wrapper):
    """``reward = compute_reward(prev, action, state)[0]``. Not a ``gymnasium.RewardWrapper``, whose ``reward(r)``
    maps the env's reward alone: the program reads the States before and after the step and the action.
    ``info`` gains ``builtin_reward`` and ``reward_components``, and the wrapper keeps ``state`` (the latest
    State) for callers that want it.
    The StateSpec is ``state_spec``: ``spec`` is gymnasium's EnvSpec, read-only on a Wrapper.

    ``compute_reward=None`` keeps the env's own reward, recorded as the one component ``builtin``: the
    baseline that no program is loaded for, tracked and analysed like any candidate."""

    def __init__(self, env: gym.Env, compute_reward: RewardFn | None, spec: StateSpec) -> None:
        super().__init__(env)
        self.compute_reward = compute_reward
        self.state_spec = spec
        self.state: State | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        obs, info = self.env.reset(seed=seed, options=options)
        self.state = self.state_spec.snapshot(obs)
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, builtin, terminated, truncated, info = self.env.step(action)
        prev, state = self.state, self.state_spec.snapshot(obs)
        assert prev is not None, "call reset() before step()"
        if self.compute_reward is None:
            total, components = float(builtin), {BUILTIN_COMPONENT: float(builtin)}
        else:
            total, components = self.compute_reward(prev, sealed(action), state)
        self.state = state
        info["builtin_reward"] = float(builtin)
        info["reward_components"] = components
        return obs, total, terminated, truncated, info
