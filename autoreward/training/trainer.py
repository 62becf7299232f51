"""The card's learner (PPO by default) on its env with a reward program: the vec env, the model, the policy.

One DummyVecEnv per training process and one torch thread (FACTS.md): parallelism is across candidates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecNormalize

from autoreward.envs.make import card_state_spec, make_card_env
from autoreward.envs.wrapper import ProgramReward, RewardFn
from autoreward.tasks import TaskCard
from autoreward.training.hyperparams import PPOSettings, algorithm_class, model_kwargs
from autoreward.training.stats import WindowRecorder
from autoreward.training.tracking import FitnessRecorder, tracked_env


def make_training_env(
    card: TaskCard, reward_fn: RewardFn | None, n_envs: int, seed: int, recorder: WindowRecorder, normalize: bool,
    gamma: float = 0.99, program_names: Iterable[str] | None = None,
) -> VecEnv:  # fmt: skip
    """``n_envs`` copies of the card's env, each ``FitnessRecorder(Monitor(RewardContract(ProgramReward(env))))``.

    ``program_names`` (``autoreward.reward.names_read`` of the program; empty for the env's own reward) narrows
    each State to the fields the program and the fitness read, so a step copies only those; None keeps them all."""
    fitness = card.fitness_spec
    names = None if program_names is None else frozenset(program_names)

    def factory() -> Callable[[], Any]:
        def make() -> FitnessRecorder:
            env = make_card_env(card)
            return tracked_env(ProgramReward(env, reward_fn, card_state_spec(card, env, names)), fitness, recorder)

        return make

    venv: VecEnv = DummyVecEnv([factory() for _ in range(n_envs)])
    venv.seed(seed)
    if normalize:
        venv = VecNormalize(venv, gamma=gamma)
    return venv


def build_model(
    venv: VecEnv, settings: PPOSettings, overrides: dict[str, Any], seed: int, tensorboard: Path | None
) -> BaseAlgorithm:
    """The settings' SB3 algorithm with their hyper-parameters for this env, the job's overrides on top, on the
    CPU."""
    torch.set_num_threads(1)
    return algorithm_class(settings)(
        settings.policy_class,
        venv,
        seed=seed,
        verbose=0,
        device="cpu",
        tensorboard_log=str(tensorboard) if tensorboard else None,
        **model_kwargs(settings, overrides, venv.action_space),
    )


def train(model: BaseAlgorithm, timesteps: int, callback: BaseCallback) -> None:
    name = type(model).__name__.lower()
    model.learn(total_timesteps=timesteps, callback=callback, tb_log_name=name, progress_bar=False)


def evaluation_policy(model: BaseAlgorithm, deterministic: bool = True) -> Callable[[np.ndarray], np.ndarray]:
    """``obs -> action`` for evaluation and video, with the training obs normalisation frozen in: the most likely
    action, or (``deterministic=False``) one sampled from the policy with the model's own seeded generator."""
    venv = model.get_env()
    normalizer = venv if isinstance(venv, VecNormalize) else None

    def policy(obs: np.ndarray) -> np.ndarray:
        if normalizer is not None:
            obs = normalizer.normalize_obs(obs)
        action, _ = model.predict(obs, deterministic=deterministic)
        return action

    return policy
