"""A short mp4 of the final policy, rendered in the worker (software GL: keep clips short and small)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from autoreward.envs.make import make_env
from autoreward.tasks import TaskCard
from autoreward.training.evaluator import EVAL_SEED_OFFSET, Policy

# Headless MuJoCo rendering; a user's explicit choice (osmesa) wins.
os.environ.setdefault("MUJOCO_GL", "egl")

FPS = 30
_BLOCK = 16  # libx264 wants frame sides divisible by 16; crop rather than let imageio rescale


def _is_mujoco(env_id: str) -> bool:
    try:
        entry = gym.spec(env_id).entry_point
    except gym.error.Error:
        return False
    return "mujoco" in str(entry).lower()


def _render_env(card: TaskCard, size: int) -> gym.Env:
    kwargs = dict(card.env_kwargs)
    if _is_mujoco(card.env_id):
        kwargs.update(width=size, height=size)
    return make_env(
        card.env_id,
        env_kwargs=kwargs,
        max_episode_steps=card.max_episode_steps,
        module=card.module,
        card_path=card.source,
        render_mode="rgb_array",
    )


def _fit(frame: np.ndarray, size: int) -> np.ndarray:
    """Downsample frames from envs that ignore ``size`` (classic control), then crop to the codec's block."""
    step = max(1, int(max(frame.shape[:2]) // size))
    frame = frame[::step, ::step]
    h = frame.shape[0] // _BLOCK * _BLOCK
    w = frame.shape[1] // _BLOCK * _BLOCK
    return np.ascontiguousarray(frame[:h, :w])


def record_video(card: TaskCard, policy: Policy, path: Path, frames: int = 150, size: int = 240, seed: int = 0) -> Path:
    """Write ``frames`` frames of ``policy`` (episodes restart when they end) to ``path`` as mp4."""
    import imageio.v2 as imageio

    env = _render_env(card, size)
    images: list[np.ndarray] = []
    try:
        episode = 0
        obs, _ = env.reset(seed=EVAL_SEED_OFFSET + seed)
        images.append(_fit(env.render(), size))
        while len(images) < frames:
            obs, _, terminated, truncated, _ = env.step(policy(obs))
            images.append(_fit(env.render(), size))
            if terminated or truncated:
                episode += 1
                obs, _ = env.reset(seed=EVAL_SEED_OFFSET + seed + episode)
    finally:
        env.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    imageio.mimsave(path, images, fps=FPS, codec="libx264", macro_block_size=_BLOCK)
    return path


def load_policy(card: TaskCard, directory: Path) -> Policy:
    """The deterministic policy saved by a training job (model.zip, and vecnormalize.pkl where it was used)."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    from autoreward.envs.make import make_card_env
    from autoreward.training.trainer import deterministic_policy

    env = None
    stats = directory / "vecnormalize.pkl"
    if stats.exists():
        env = VecNormalize.load(str(stats), DummyVecEnv([lambda: make_card_env(card)]))
        env.training = False
    return deterministic_policy(PPO.load(directory / "model.zip", env=env, device="cpu"))


def run_job(ctx: Any) -> dict[str, Any]:
    """The sandbox worker's ``video`` job: film the policy a ``train`` job saved in the same scratch directory.

    It never loads the reward program (the clip shows the policy, not the reward), so encoding may start
    ffmpeg; the worker still has no network and can write only its scratch directory."""
    from autoreward.tasks import resolve_task

    params = ctx.params
    card = resolve_task(params["task"])
    policy = load_policy(card, ctx.scratch)
    path = record_video(card, policy, ctx.scratch / "video.mp4", params.get("frames", 150), params.get("size", 240),
                        params.get("seed", 0))  # fmt: skip
    return {"video": path.name}
