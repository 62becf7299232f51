"""Types shared across the stages (as Stable-Baselines3's ``type_aliases.py``): each defined once, here.

This module imports nothing of autoreward at run time (types named in aliases are imported for type checkers
only), so any module may use it without an upward import.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from autoreward.critic.verdict import Reason
    from autoreward.tasks import TaskCard
    from autoreward.training.models import TrainJob, TrainResult

EventSink = Callable[[dict[str, Any]], None]
"""Receives a training's progress events, one JSON-able dict each (``{"event": "progress", ...}``)."""

TrainOne = Callable[["TrainJob", Path, EventSink | None], "TrainResult"]
"""Trains one candidate in a scratch directory, streaming events: the local sandbox or a Ray task."""

Review = Callable[[str, "TaskCard"], list["Reason"]]
"""The LLM review as a Critic stage: a program's source and its task in, reasons out."""

BUILTIN = "builtin"
"""A candidate's origin when it is the env's own reward (trained without a program)."""


class Status(StrEnum):
    """A candidate's status; str-valued, so the SQLite column and the JSON hold the plain word."""

    DESIGNED = "designed"  # stored, not checked yet
    ACCEPTED = "accepted"  # the Critic found no error: it will train
    REJECTED = "rejected"  # the Critic (or the answer's extraction) found an error
    TRAINING = "training"  # shown while a worker trains it; never stored
    TRAINED = "trained"
    FAILED = "failed"  # training broke (the reward raised, a limit, ...)
    PRUNED = "pruned"  # stopped early by successive halving
    DUPLICATE = "duplicate"  # the same program (autoreward.normalise) as an earlier candidate: not trained again


class RunStatus(StrEnum):
    """A run's status."""

    RUNNING = "running"
    FINISHED = "finished"
    STOPPED = "stopped"  # killed or failed: ``autoreward resume`` continues it
    WAITING_PREFERENCE = "waiting_preference"


class StartProgram(BaseModel):
    """One program a run starts from besides the LLM's; its text, not its path, is what the run trains."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    origin: str = Field(description=f'the file it was read from (an absolute path), or "{BUILTIN}"')
    source: str | None = Field(default=None, description="the program's text; None for the env's own reward")

    @property
    def builtin(self) -> bool:
        return self.origin == BUILTIN

    @property
    def name(self) -> str:
        """How people call it: the file's name, or "the env's own reward"."""
        return "the env's own reward" if self.builtin else Path(self.origin).name
