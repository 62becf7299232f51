"""A wrapper around ``RewardWrapper`` that checks the reward, tracks the true fitness and feeds the statistics.

It sits inside each env of the DummyVecEnv so that it sees every State before the auto-reset replaces it,
which a VecEnv callback cannot.
"""

from __future__ import annotations

import math
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from autoreward.envs.fitness import EpisodeFitness, FitnessSpec
from autoreward.envs.state import State
from autoreward.envs.wrapper import RewardWrapper
from autoreward.reward import ContractError, RewardProgramError, checked, locate_nonfinite
from autoreward.training.stats import ComponentAccumulator, EpisodeRecord, WindowRecorder


class TrackedEnv(gym.Wrapper):
    """Stops training on a NaN/inf or malformed reward, and records each step's components and each episode's
    fitness, length, returns and ending into the shared ``WindowRecorder``."""

    def __init__(self, env: RewardWrapper, fitness: FitnessSpec | None, recorder: WindowRecorder) -> None:
        super().__init__(env)
        self._reward_env = env
        self._fitness = EpisodeFitness(fitness) if fitness is not None else None
        self._recorder = recorder
        self._prev: State | None = None
        self._steps = 0
        self._length = 0
        self._reward_return = 0.0
        self._builtin_return = 0.0
        self._sums: dict[str, float] = {}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        obs, info = self.env.reset(seed=seed, options=options)
        self._prev = self._reward_env.state
        if self._fitness is not None and self._prev is not None:
            self._fitness.reset(self._prev, info)
        self._length = 0
        self._reward_return = 0.0
        self._builtin_return = 0.0
        self._sums = {}
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        prev = self._prev
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._steps += 1
        state = self._reward_env.state
        # Consumed here: SB3's DummyVecEnv deep-copies every info dict every step, so passing them on costs.
        components = info.pop("reward_components", None)
        builtin = info.pop("builtin_reward", 0.0)
        total, components = self._check(reward, components, prev, action, state)
        self._record_step(total, components, builtin)
        if self._fitness is not None and prev is not None and state is not None:
            self._fitness.step(prev, action, state, builtin, info)
        self._prev = state
        if terminated or truncated:
            self._end_episode(bool(terminated))
        return obs, total, terminated, truncated, info

    def _check(
        self, reward: Any, components: Any, prev: Any, action: Any, state: Any
    ) -> tuple[float, dict[str, float]]:
        """The reward and its components as floats under the reward program's contract; a value outside it
        stops training with the program's line."""
        try:
            total, numbers = checked((reward, components))
        except ContractError as err:
            program = self._reward_env.compute_reward
            line = None
            if err.kind == "nonfinite" and program is not None:
                line = locate_nonfinite(program, prev, np.asarray(action), state)
            raise RewardProgramError(str(err), line=line, step=self._steps) from None
        return total, numbers

    def _record_step(self, total: float, components: dict[str, float], builtin: float) -> None:
        recorder = self._recorder
        recorder.steps += 1
        recorder.reward_total += total
        accs = recorder.components
        sums = self._sums
        for name, value in components.items():
            acc = accs.get(name)
            if acc is None:
                acc = accs[name] = ComponentAccumulator()
            acc.add(value)
            sums[name] = sums.get(name, 0.0) + value
        self._length += 1
        self._reward_return += total
        self._builtin_return += builtin

    def _end_episode(self, terminated: bool) -> None:
        fitness = self._fitness.result() if self._fitness is not None else math.nan
        self._recorder.episodes.append(
            EpisodeRecord(
                fitness=fitness,
                length=self._length,
                terminated=terminated,
                reward_return=self._reward_return,
                builtin_return=self._builtin_return,
                component_sums=dict(self._sums),
            )
        )
