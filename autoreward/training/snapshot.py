"""The policy that collected the best-scoring rollout, kept so that the run can end on it.

PPO's training statistics measure the weights that collected each rollout; the update that follows is never
measured. With a near-deterministic policy one update can undo it (MiniGrid-LavaGap: every rollout of the last
10k steps reached the goal, then the last update walked into the lava on the first step in 2 of 3 layouts). A
snapshot holds what the measured policy needs to act again: its weights and, under VecNormalize, the observation
statistics it saw.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import unwrap_vec_normalize


@dataclass(frozen=True)
class PolicySnapshot:
    timesteps: int
    value: float  # the rollout's fitness, nudged by the built-in return (``halving.tie_broken``)
    episodes: int
    weights: dict[str, Any]
    obs_rms: Any  # VecNormalize's running statistics, or None without it

    @classmethod
    def take(cls, model: BaseAlgorithm, value: float, episodes: int) -> PolicySnapshot:
        normalizer = unwrap_vec_normalize(model.get_env())
        obs_rms = copy.deepcopy(normalizer.obs_rms) if normalizer is not None else None
        weights = copy.deepcopy(model.policy.state_dict())
        return cls(model.num_timesteps, value, episodes, weights, obs_rms)

    def restore(self, model: BaseAlgorithm) -> None:
        """Put the snapshot's weights (and observation statistics) back into ``model`` and its env."""
        model.policy.load_state_dict(self.weights)
        normalizer = unwrap_vec_normalize(model.get_env())
        if normalizer is not None and self.obs_rms is not None:
            normalizer.obs_rms = copy.deepcopy(self.obs_rms)
