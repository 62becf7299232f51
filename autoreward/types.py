"""Types shared across the stages (as Stable-Baselines3's ``type_aliases.py``): each defined once, here.

This module imports nothing of autoreward at run time, so any module may use it without an upward import.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """A candidate's status; str-valued, so the SQLite column and the JSON hold the plain word."""

    DESIGNED = "designed"  # stored, not checked yet
    ACCEPTED = "accepted"  # the Critic found no error: it will train
    REJECTED = "rejected"  # the Critic (or the answer's extraction) found an error
    TRAINING = "training"  # shown while a worker trains it; never stored
    TRAINED = "trained"
    FAILED = "failed"  # training broke (the reward raised, a limit, ...)
    PRUNED = "pruned"  # stopped early by successive halving


class RunStatus(StrEnum):
    """A run's status."""

    RUNNING = "running"
    FINISHED = "finished"
    STOPPED = "stopped"  # killed or failed: ``autoreward resume`` continues it
    WAITING_PREFERENCE = "waiting_preference"
