"""The ``train`` job's input and output: JSON-able, so they cross the sandbox boundary as files and lines."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field

from autoreward.training.stats import Checkpoint, Evaluation

EventSink = Callable[[dict[str, Any]], None]
Failure = Literal["reward", "setup", "internal"]


class TrainJob(BaseModel):
    """Everything one candidate's training needs; JSON-able so it crosses into the sandbox as a file."""

    candidate_id: str = "candidate"
    task: str = Field(description="catalog task name or path to a task card")
    reward_source: str | None = Field(
        description="the reward program's source text; None: PPO on the env's own reward, no program loaded"
    )
    timesteps: int | None = Field(default=None, gt=0, description="None: the card's budget")
    seed: int = 0
    n_envs: int | None = Field(default=None, gt=0, description="None: the hyper-parameter table's value")
    normalize: bool | None = Field(default=None, description="VecNormalize; None: the table's value")
    hyperparams: dict[str, Any] = Field(default_factory=dict, description="PPO kwargs over the table's")
    checkpoints: int = Field(default=10, ge=1)
    checkpoint_eval_episodes: int = Field(default=0, ge=0, description="deterministic episodes per checkpoint")
    eval_episodes: int = Field(default=5, ge=0)
    video: bool = False
    video_frames: int = Field(default=150, gt=0)
    video_size: int = Field(default=240, ge=64)
    plots: bool = True
    save_model: bool = True


class TrainResult(BaseModel):
    """One candidate's outcome. A failed candidate keeps the checkpoints recorded before it failed."""

    candidate_id: str
    task: str
    status: Literal["ok", "failed"]
    failure: Failure | None = None
    error: str | None = None
    error_line: int | None = Field(default=None, description="line of the reward program that failed")
    error_step: int | None = None
    traceback: str | None = None
    timesteps: int = 0
    total_timesteps: int = 0
    wall_s: float = 0.0
    fps: float = Field(default=0.0, description="timesteps per second of model.learn, setup excluded")
    n_envs: int = 0
    hyperparams_source: str = ""
    checkpoints: list[Checkpoint] = Field(default_factory=list)
    evaluation: Evaluation | None = None
    artifacts: dict[str, str] = Field(default_factory=dict, description="name -> path relative to scratch")

    @property
    def fitness(self) -> float | None:
        return self.evaluation.fitness_mean if self.evaluation is not None else None


def failed_result(job: TrainJob, failure: Failure, err: BaseException, **fields: Any) -> TrainResult:
    return TrainResult(
        candidate_id=job.candidate_id,
        task=job.task,
        status="failed",
        failure=failure,
        error=str(err) or type(err).__name__,
        traceback="".join(traceback.format_exception(err))[-4000:],
        **fields,
    )
