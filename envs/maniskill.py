"""ManiSkill3 (the ``maniskill`` extra) where it can run: mani-skill installed and an NVIDIA GPU present.

ManiSkill3 cannot create an env without a GPU (measured: its CPU simulation and software Vulkan both fail), so
``gpu_missing`` is checked before ``gymnasium.make`` and names the requirement in one line. Ids
``ManiSkill/<task>`` (e.g. ``ManiSkill/PickCube-v1``) make ManiSkill's ``<task>`` with one env, numpy outputs
(``CPUGymWrapper``) and ``obs_mode="state_dict"``. The policy gets that nested dict flattened (leaves in sorted
order); the State names each leaf (``agent_qpos``, ``tcp_pose``, ``goal_pos``, ``obj_pose``, ...) — the same
names ManiSkill's own dense rewards read, which is what Text2Reward's ManiSkill prompts give the LLM.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from autoreward.envs.state import Field, Snapshot, StateSpec, sealed

TASKS = ("PickCube-v1", "PushCube-v1", "StackCube-v1", "PegInsertionSide-v1", "PullCube-v1", "LiftPegUpright-v1")
_PREFIX = "ManiSkill/"


def gpu_missing() -> str | None:
    """Why ManiSkill3 cannot make an env here, or None where a CUDA GPU is visible."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a core dependency
        return "torch is missing"
    if not torch.cuda.is_available():
        return "no CUDA GPU is visible on this machine (ManiSkill3 cannot create an env on the CPU)"
    return None


def _make(task: str, render_mode: str | None = None, **kwargs: Any) -> gym.Env:
    import mani_skill.envs  # noqa: F401  (registers ManiSkill's ids)
    from mani_skill.utils.wrappers.gymnasium import CPUGymWrapper

    kwargs.setdefault("control_mode", "pd_ee_delta_pose")
    env = gym.make(task, obs_mode="state_dict", num_envs=1, render_mode=render_mode, **kwargs)
    return CPUGymWrapper(env)


for _task in TASKS:
    gym.register(f"{_PREFIX}{_task}", entry_point=_make, kwargs={"task": _task}, max_episode_steps=None)


def _leaves(tree: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, value) of every leaf of a nested mapping, keys in sorted order."""
    for key in sorted(tree):
        value = tree[key]
        if isinstance(value, Mapping):
            yield from _leaves(value, (*prefix, key))
        else:
            yield (*prefix, key), value


def _field_name(path: tuple[str, ...]) -> str:
    """``("extra", "tcp_pose")`` -> ``tcp_pose``; ``("agent", "qpos")`` -> ``agent_qpos``."""
    parts = path[1:] if path[0] == "extra" and len(path) > 1 else path
    return "_".join(parts)


class FlatDictObservation(gym.Wrapper):
    """``obs`` = the leaves of a nested dict observation concatenated in sorted key order; ``latest`` keeps the
    dict itself for the State."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.paths = [path for path, _ in _leaves(env.observation_space.spaces)]
        size = sum(int(np.prod(space.shape)) for _, space in _leaves(env.observation_space.spaces))
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (size,), np.float64)
        self.latest: Mapping[str, Any] = {}

    def _flat(self, obs: Mapping[str, Any]) -> np.ndarray:
        self.latest = obs
        return np.concatenate([np.ravel(np.asarray(v, dtype=np.float64)) for _, v in _leaves(obs)])

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        obs, info = self.env.reset(seed=seed, options=options)
        return self._flat(obs), info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if "success" in info:
            info["success"] = float(np.asarray(info["success"]).item())
        return self._flat(obs), float(reward), bool(terminated), bool(truncated), info


def wrap(env: gym.Env) -> gym.Env:
    return FlatDictObservation(env)


def state_spec(env: gym.Env) -> StateSpec:
    """One State field per leaf of the dict observation, named by its path; ``obs`` is the flattened vector."""
    flat = env
    while not isinstance(flat, FlatDictObservation):
        if not isinstance(flat, gym.Wrapper):
            raise TypeError("a ManiSkill env is made through autoreward.envs.maniskill.wrap")
        flat = flat.env
    fields = [Field("obs", "", "the env's dict observation (obs_mode state_dict) with its leaves concatenated in "
                    "sorted key order", lambda s: s["obs"])]  # fmt: skip
    paths = flat.paths
    spaces = dict(_leaves(flat.env.observation_space.spaces))
    fields += [_leaf_field(path, tuple(spaces[path].shape)) for path in paths]

    def capture() -> Snapshot:
        leaves = dict(_leaves(flat.latest))
        return {path: sealed(np.array(leaves[path], dtype=np.float64)) for path in paths}

    return StateSpec(fields, capture)


def _leaf_field(path: tuple[str, ...], shape: tuple[int, ...]) -> Field:
    doc = f"observation entry {'/'.join(path)}"
    if shape in ((), (1,)):
        return Field(_field_name(path), "", doc, lambda s: float(s[path].reshape(-1)[0]))
    return Field(_field_name(path), "", doc, lambda s: s[path], shape=shape)
