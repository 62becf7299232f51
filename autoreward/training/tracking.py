"""Two wrappers that sit inside each env of the DummyVecEnv, one concern each (as Gymnasium's wrappers are):

- ``RewardContract`` holds the reward program to its output contract (``autoreward.reward``) and stops training
  with the program's line when a value breaks it;
- ``FitnessRecorder`` records each step's components (window statistics and episode sums in one pass over
  them) and each episode's true fitness, env return and ending into the shared ``WindowRecorder``; the
  episode's length and the program's return are Monitor's, read from ``info["episode"]``, not counted twice.

Inside the vec env they see every State before the auto-reset replaces it, which a VecEnv callback cannot. The
stack is ``FitnessRecorder(Monitor(RewardContract(ProgramReward(env))))``.
"""

from __future__ import annotations

import math
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from stable_baselines3.common.monitor import Monitor

from autoreward.envs.fitness import EpisodeFitness, FitnessSpec
from autoreward.envs.state import State
from autoreward.envs.wrapper import ProgramReward
from autoreward.reward import ContractError, RewardProgramError, checked, locate_nonfinite
from autoreward.training.stats import ComponentAccumulator, EpisodeRecord, WindowRecorder


class RewardContract(gym.Wrapper):
    """The reward and its components as floats under the reward program's contract; a value outside it raises
    ``RewardProgramError`` with the program's line and the step."""

    def __init__(self, env: ProgramReward) -> None:
        super().__init__(env)
        self._reward_env = env
        self._prev: State | None = None
        self._steps = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        obs, info = self.env.reset(seed=seed, options=options)
        self._prev = self._reward_env.state
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._steps += 1
        state = self._reward_env.state
        try:
            total, info["reward_components"] = checked((reward, info.get("reward_components")))
        except ContractError as err:
            program = self._reward_env.compute_reward
            line = None
            if err.kind == "nonfinite" and program is not None:
                line = locate_nonfinite(program, self._prev, np.asarray(action), state)
            raise RewardProgramError(str(err), line=line, step=self._steps) from None
        self._prev = state
        return obs, total, terminated, truncated, info


class FitnessRecorder(gym.Wrapper):
    """Feeds the ``WindowRecorder``: each step's components and the candidate's reward, each episode's true
    fitness, env return, component sums and ending."""

    def __init__(
        self, env: gym.Env, reward_env: ProgramReward, fitness: FitnessSpec | None, recorder: WindowRecorder
    ) -> None:
        super().__init__(env)
        self._reward_env = reward_env
        self._fitness = EpisodeFitness(fitness) if fitness is not None else None
        self._recorder = recorder
        self._prev: State | None = None
        self._builtin_return = 0.0
        self._components = recorder.env_components()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        obs, info = self.env.reset(seed=seed, options=options)
        self._prev = self._reward_env.state
        if self._fitness is not None and self._prev is not None:
            self._fitness.reset(self._prev, info)
        self._builtin_return = 0.0
        for acc in self._components.values():
            acc.episode = 0.0
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        prev = self._prev
        obs, total, terminated, truncated, info = self.env.step(action)
        state = self._reward_env.state
        # Consumed here: SB3's DummyVecEnv deep-copies every info dict every step, so passing them on costs.
        components = info.pop("reward_components")
        builtin = info.pop("builtin_reward", 0.0)
        self._record_step(float(total), components, builtin)
        if self._fitness is not None and prev is not None and state is not None:
            self._fitness.step(prev, action, state, builtin, info)
        self._prev = state
        if terminated or truncated:
            self._end_episode(bool(terminated), info.get("episode"))
        return obs, total, terminated, truncated, info

    def _record_step(self, total: float, components: dict[str, float], builtin: float) -> None:
        recorder = self._recorder
        recorder.steps += 1
        recorder.reward_total += total
        accs = self._components
        for name, value in components.items():
            acc = accs.get(name)
            if acc is None:
                acc = accs[name] = ComponentAccumulator()
            acc.add(value)
        self._builtin_return += builtin

    def _end_episode(self, terminated: bool, episode: dict[str, Any] | None) -> None:
        """``episode`` is Monitor's summary (``r``: the program's return, ``l``: the length)."""
        fitness = self._fitness.result() if self._fitness is not None else math.nan
        episode = episode or {}
        self._recorder.record(
            EpisodeRecord(
                fitness=fitness,
                length=int(episode.get("l", 0)),
                terminated=terminated,
                reward_return=float(episode.get("r", 0.0)),
                builtin_return=self._builtin_return,
                component_sums={name: acc.episode for name, acc in self._components.items()},
            )
        )


def tracked_env(env: ProgramReward, fitness: FitnessSpec | None, recorder: WindowRecorder) -> FitnessRecorder:
    """The training stack over a reward-program env: contract, Monitor, fitness recorder."""
    return FitnessRecorder(Monitor(RewardContract(env)), env, fitness, recorder)
