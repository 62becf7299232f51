"""A trained policy as plain data: torch weights and VecNormalize's statistics as arrays, never a pickle.

``PPO.save``/``VecNormalize.save`` cloudpickle their objects, and loading such a file runs whatever the writer
put in it; the writer here is a process that loaded an untrusted program. So the training job saves only the
policy's ``state_dict`` (read back with ``torch.load(weights_only=True)``) and the observation statistics
(``.npz``, read back with ``allow_pickle=False``), and a program-free job rebuilds the card's algorithm from the
parameters the parent already knows (the card's hyper-parameter table and the job's overrides) before loading them. Both
files are read through ``sandbox.files.read_plain`` (no links, bounded).
"""

from __future__ import annotations

import inspect
import io
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.utils import get_system_info
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from autoreward.envs.make import make_card_env
from autoreward.sandbox.files import read_plain
from autoreward.tasks import TaskCard
from autoreward.training.evaluator import Policy
from autoreward.training.hyperparams import algorithm_class, learner_settings, model_kwargs
from autoreward.training.models import TrainJob
from autoreward.training.trainer import evaluation_policy

WEIGHTS = "policy.pt"
NORMALIZATION = "normalization.npz"
SB3_MODEL = "model.zip"  # what ``PPO.load``/``SAC.load`` read: written only by a program-free job
SB3_NORMALIZATION = "vecnormalize.pkl"  # what ``VecNormalize.load`` reads, likewise
MAX_BYTES = 128 * 1024 * 1024


def save_policy(model: BaseAlgorithm, directory: Path, prefix: str = "") -> dict[str, str]:
    """Write the weights (and the observation statistics where VecNormalize was used) as ``prefix`` + the fixed
    names (a rung's copy is ``rung-policy.pt``); artefact name -> file."""
    torch.save(model.policy.state_dict(), directory / f"{prefix}{WEIGHTS}")
    files = {"model": f"{prefix}{WEIGHTS}"}
    venv = model.get_env()
    if isinstance(venv, VecNormalize):
        arrays: dict[str, np.ndarray] = {
            "clip_obs": np.array(venv.clip_obs, dtype=np.float64),
            "epsilon": np.array(venv.epsilon, dtype=np.float64),
            "norm_obs": np.array(venv.norm_obs),
        }
        stats = venv.obs_rms if isinstance(venv.obs_rms, dict) else {"": venv.obs_rms}
        for key, rms in stats.items():
            arrays.update({f"mean/{key}": rms.mean, f"var/{key}": rms.var, f"count/{key}": np.array(rms.count)})
        np.savez(directory / f"{prefix}{NORMALIZATION}", **arrays)
        files["normalization"] = f"{prefix}{NORMALIZATION}"
    return files


def load_policy(card: TaskCard, job: TrainJob, directory: Path) -> Policy:
    """The policy saved by ``save_policy`` in ``directory``, rebuilt for ``job`` on ``card``: deterministic, or
    sampling with a generator seeded by the job's seed where the card's settings evaluate that way."""
    return evaluation_policy(load_model(card, job, directory), learner_settings(card).deterministic_eval)


def prepare_sb3_save() -> None:
    """What ``save_sb3`` needs a process for, done before the lock-down: SB3 records the system in every zip, and
    ``platform.platform()`` runs ``uname -p`` once (then caches it)."""
    get_system_info(print_info=False)


def save_sb3(model: BaseAlgorithm, directory: Path) -> dict[str, str]:
    """Write ``model`` (rebuilt by ``load_model``, never the training process's) as SB3's own files: ``model.zip``
    and, where it normalises observations, ``vecnormalize.pkl``; artefact name -> file."""
    model.save(directory / SB3_MODEL)
    files = {"sb3_model": SB3_MODEL}
    venv = model.get_env()
    if isinstance(venv, VecNormalize):
        venv.save(str(directory / SB3_NORMALIZATION))
        files["sb3_normalization"] = SB3_NORMALIZATION
    return files


def load_model(card: TaskCard, job: TrainJob, directory: Path) -> BaseAlgorithm:
    """A fresh model of the card's algorithm and settings with the plain weights (and statistics) in
    ``directory`` loaded: no pickle is read."""
    settings = learner_settings(card)
    venv: Any = DummyVecEnv([lambda: make_card_env(card)])
    stats_path = directory / NORMALIZATION
    if stats_path.exists():
        venv = _normalizer(venv, np.load(io.BytesIO(read_plain(stats_path, MAX_BYTES)), allow_pickle=False))
    kwargs = model_kwargs(settings, job.hyperparams, venv.action_space)
    cls = algorithm_class(settings)
    buffer = inspect.signature(cls).parameters.get("buffer_size")
    # No replay buffer of the real size: the weights are all that is loaded, and the buffer could take gigabytes;
    # the saved model records the real size, so a loaded one that trains on gets it.
    full = kwargs.pop("buffer_size", buffer.default if buffer is not None else None)
    model = cls(settings.policy_class, venv, device="cpu", verbose=0, seed=job.seed,
                **kwargs, **({"buffer_size": 1} if buffer is not None else {}))  # fmt: skip
    if buffer is not None:
        model.buffer_size = full
    weights = torch.load(io.BytesIO(read_plain(directory / WEIGHTS, MAX_BYTES)), weights_only=True, map_location="cpu")
    model.policy.load_state_dict(weights)
    return model


def _normalizer(venv: DummyVecEnv, arrays: Any) -> VecNormalize:
    """A frozen VecNormalize with the saved statistics (no reward normalisation: evaluation reads raw rewards)."""
    normalizer = VecNormalize(
        venv, training=False, norm_obs=bool(arrays["norm_obs"]), norm_reward=False,
        clip_obs=float(arrays["clip_obs"]), epsilon=float(arrays["epsilon"]),
    )  # fmt: skip
    keys = sorted(name.partition("/")[2] for name in arrays.files if name.startswith("mean/"))
    stats = {}
    for key in keys:
        rms = RunningMeanStd(shape=arrays[f"mean/{key}"].shape)
        rms.mean, rms.var = arrays[f"mean/{key}"].astype(np.float64), arrays[f"var/{key}"].astype(np.float64)
        rms.count = float(arrays[f"count/{key}"])
        stats[key] = rms
    normalizer.obs_rms = stats[""] if keys == [""] else stats
    return normalizer
