"""The ``train`` job: one candidate's training, evaluation, plots and video, as the sandbox worker runs it.

``train_candidate`` is a plain in-process function; everything it writes goes under ``scratch``. ``run_job``
is how the sandbox worker runs it (``autoreward.training.sandboxed`` is the parent side, and
``autoreward.training.parallel.train_many`` runs several at once).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from autoreward.tasks import TaskCard
from autoreward.training.models import EventSink, Failure, TrainJob, TrainResult
from autoreward.training.runner import CandidateRun

__all__ = ["EventSink", "Failure", "TrainJob", "TrainResult", "run_job", "train_candidate"]


def train_candidate(
    job: TrainJob, scratch: Path, on_event: EventSink | None = None, loader: Callable[[str], Any] | None = None
) -> TrainResult:
    """Train, evaluate and record one candidate; reward failures come back as a failed result, never raise."""
    run = CandidateRun(job, Path(scratch), on_event or (lambda event: None), *([loader] if loader else []))
    return run.run()


def _warm_up(card: TaskCard) -> None:
    """Import and initialise what would start a process later (``ldconfig`` through ``find_library`` when
    gymnasium's MuJoCo renderer loads, ``uname -p`` for SB3's system info, matplotlib's font cache), while the
    worker may still do so: once the program is loaded, the seccomp filter forbids it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # builds the font cache
    import torch  # noqa: F401
    from stable_baselines3.common.utils import get_system_info
    from torch.utils.tensorboard import SummaryWriter  # noqa: F401

    get_system_info(print_info=False)  # `platform` caches the `uname -p` it runs

    from autoreward.envs.make import make_card_env

    make_card_env(card).close()


def run_job(ctx: Any) -> dict[str, Any]:
    """The sandbox worker's ``train`` job: the program is loaded through the worker (seccomp first).

    Videos need a subprocess (ffmpeg), which the locked-down worker may not start: they are a separate
    ``video`` job that never loads the program."""
    job = TrainJob.model_validate(ctx.params).model_copy(update={"video": False})
    _warm_up(job.task_card())
    ctx.lock_down()  # also when the env's own reward trains and no program is loaded
    return train_candidate(job, ctx.scratch, ctx.emit, lambda _source: ctx.load_program()).model_dump(mode="json")
