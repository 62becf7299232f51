"""The ``train`` job's input and output: JSON-able, so they cross the sandbox boundary as files and lines."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from autoreward.reward import bad_name
from autoreward.runconfig import EVAL_EPISODES
from autoreward.sanitize import clean
from autoreward.tasks import TaskCard, resolve_task
from autoreward.training.stats import Checkpoint, Evaluation
from autoreward.types import EventSink as EventSink  # re-exported: training's modules name it here

Failure = Literal["reward", "setup", "internal"]
RUNG_EPISODES = 10  # episodes of the program-free assessment that measures a successive-halving rung (rungs.py)


class TrainJob(BaseModel):
    """Everything one candidate's training needs; JSON-able so it crosses into the sandbox as a file."""

    candidate_id: str = "candidate"
    task: str = Field(description="catalog task name or path to a task card")
    card: dict[str, Any] | None = Field(
        default=None, description="the run's stored card (read instead of ``task``: a run never re-reads a file)"
    )
    card_source: str = Field(default="", description="where the card came from: its module resolves beside it")
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
    eval_episodes: int = Field(default=EVAL_EPISODES, ge=0)
    video: bool = False
    video_frames: int = Field(default=150, gt=0)
    video_size: int = Field(default=240, ge=64)
    plots: bool = True
    save_model: bool = True
    tensorboard: bool = True
    rungs: list[int] = Field(
        default_factory=list, description="timesteps at which the worker saves its policy for a rung's assessment"
    )
    rung_episodes: int = Field(default=RUNG_EPISODES, ge=1, description="episodes of a rung's assessment")
    rung_wait_s: float = Field(
        default=0.0, ge=0.0, description="longest pause at a rung for the parent's decision (0: training goes on)"
    )

    def task_card(self) -> TaskCard:
        """The card this job trains on: the stored copy it carries, else the catalog's or the file's."""
        if self.card is None:
            return resolve_task(self.task)
        return TaskCard.model_validate({**self.card, "source": Path(self.card_source) if self.card_source else None})


class RungReport(BaseModel):
    """A candidate's true fitness at one successive-halving rung, measured by the parent's program-free assessment
    of the weights the worker saved there (``rungs.py``); ``value`` is what competes."""

    rung: int = Field(ge=0)
    timesteps: int = Field(ge=0)
    fitness: float
    secondary: float | None = Field(default=None, description="the env's own return: breaks fitness ties")
    value: float
    episodes: int = Field(default=0, ge=0, description="episodes the fitness averages")
    probe_steps: int = Field(default=0, ge=0, description="env steps the rung's assessment ran")
    probe_s: float = Field(default=0.0, ge=0.0, description="wall seconds from the rung's trigger to its value")

    def note(self) -> str:
        """How ``show``, the live table, the web page and the revision prompt word a cut candidate."""
        return f"pruned at {self.timesteps} steps, fitness {self.fitness:.4g}"


def pruned_note(result: dict[str, Any] | None) -> str:
    """The note of a stored result that successive halving cut ("" when it was not)."""
    pruned = (result or {}).get("pruned")
    return RungReport.model_validate(pruned).note() if pruned else ""


class TrainResult(BaseModel):
    """One candidate's outcome. A failed candidate keeps the checkpoints recorded before it failed."""

    candidate_id: str
    task: str
    status: Literal["ok", "failed", "pruned"]
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
    rungs: list[RungReport] = Field(
        default_factory=list, description="the parent-measured rung values, rung 0 first (never the worker's)"
    )
    pruned: RungReport | None = Field(default=None, description="the rung where successive halving stopped it")
    kept_timesteps: int | None = Field(
        default=None, description="the policy kept collected the rollout ending here (None: the final update's)"
    )
    artifacts: dict[str, str] = Field(default_factory=dict, description="name -> path relative to scratch")

    @field_validator("error", "traceback")
    @classmethod
    def _shown_safely(cls, text: str | None) -> str | None:
        """Written by the program's process: no escape sequences, bounded, before it is stored or shown."""
        return None if text is None else clean(text, 4000)

    @field_validator("checkpoints")
    @classmethod
    def _identifier_components(cls, checkpoints: list[Checkpoint]) -> list[Checkpoint]:
        """Component names reach tables, pages and prompts: only identifiers (the contract's names) are kept."""
        for checkpoint in checkpoints:
            checkpoint.components = {k: v for k, v in checkpoint.components.items() if bad_name(k) is None}
        return checkpoints

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
