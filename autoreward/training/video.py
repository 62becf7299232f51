"""A short mp4 of the final policy, rendered in the worker (software GL: keep clips short and small)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from autoreward.envs.make import make_env
from autoreward.tasks import TaskCard
from autoreward.training.evaluator import EVAL_SEED_OFFSET, Policy
from autoreward.training.models import TrainJob
from autoreward.training.saved_policy import load_policy

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


def record_video(
    card: TaskCard, policy: Policy, path: Path, frames: int = 150, size: int = 240, seed: int = 0,
    before_frames: Callable[[], None] | None = None,
) -> Path:  # fmt: skip
    """Write ``frames`` frames of ``policy`` (episodes restart when they end) to ``path`` as mp4.

    The encoder (an ffmpeg process) starts with the first frame; ``before_frames`` runs right after that, before
    the policy acts (the sandboxed job locks itself down there)."""
    import imageio.v2 as imageio

    env = _render_env(card, size)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        episode = 0
        obs, _ = env.reset(seed=EVAL_SEED_OFFSET + seed)
        with imageio.get_writer(path, fps=FPS, codec="libx264", macro_block_size=_BLOCK) as writer:
            writer.append_data(_fit(env.render(), size))
            if before_frames is not None:
                before_frames()
            for _ in range(frames - 1):
                obs, _, terminated, truncated, _ = env.step(policy(obs))
                writer.append_data(_fit(env.render(), size))
                if terminated or truncated:
                    episode += 1
                    obs, _ = env.reset(seed=EVAL_SEED_OFFSET + seed + episode)
    finally:
        env.close()
    return path


def run_job(ctx: Any) -> dict[str, Any]:
    """The sandbox worker's ``video`` job: film the policy a ``train`` job saved (its weights, copied in).

    It never loads the reward program (the clip shows the policy, not the reward). It starts the encoder (an
    ffmpeg process), then locks itself down (seccomp) before it reads the saved weights and films."""
    params = ctx.params
    job = TrainJob.model_validate(params["job"])
    card = job.task_card()
    policy_box: list[Policy] = []

    def lock_and_load() -> None:
        ctx.lock_down()
        policy_box.append(load_policy(card, job, ctx.scratch))

    path = record_video(
        card, lambda obs: policy_box[0](obs), ctx.scratch / "video.mp4", job.video_frames, job.video_size, job.seed,
        before_frames=lock_and_load,
    )  # fmt: skip
    return {"video": path.name}
