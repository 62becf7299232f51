"""The parent side of training: one candidate in its own sandboxed worker, the way every run trains.

The worker (``autoreward.sandbox.worker``) hosts the ``train`` job, which loads the reward program only after
locking itself down; the clip is filmed by a second, program-free ``video`` job in the same scratch directory.
"""

from __future__ import annotations

from pathlib import Path

from autoreward.sandbox.jobs import Job
from autoreward.sandbox.limits import Limits
from autoreward.sandbox.run import run_in_sandbox
from autoreward.tasks import TaskCard, resolve_task
from autoreward.training.models import EventSink, TrainJob, TrainResult


def training_limits(timesteps: int) -> Limits:
    """Generous CPU and wall time for the budget (>= 50 steps/s on a loaded machine, plus set-up, evaluation
    and plots), a firm memory cap."""
    seconds = 600 + timesteps / 50
    return Limits(wall_seconds=seconds, cpu_seconds=int(seconds), memory_mb=6144, open_files=1024, file_size_mb=512)


def train_in_sandbox(job: TrainJob, scratch: Path, on_event: EventSink | None = None) -> TrainResult:
    """Train ``job`` in an isolated worker; any way the worker ends becomes a TrainResult."""
    card = resolve_task(job.task)
    expose = [card.source.parent] if card.source is not None else []
    sandbox_job = Job(kind="train", source=job.reward_source or "", params=job.model_dump(mode="json"), expose=expose)
    report = run_in_sandbox(sandbox_job, scratch, training_limits(job.timesteps or card.timesteps), on_event)
    if report.ok:
        result = TrainResult.model_validate(report.result)
        if job.video and result.status == "ok":
            _film(job, card, scratch, on_event, expose, result)
        return result
    error = report.error
    return TrainResult(
        candidate_id=job.candidate_id, task=job.task, status="failed",
        failure="reward" if error is not None and error.line else "internal",
        error=f"{report.status}: {report.describe()}", error_line=error.line if error else None,
        traceback=(error.traceback if error else "") or report.output_tail, wall_s=report.seconds,
    )  # fmt: skip


def _film(
    job: TrainJob, card: TaskCard, scratch: Path, on_event: EventSink | None, expose: list[Path], result: TrainResult
) -> None:
    """A clip of the trained policy; a rendering problem is a warning, not a failed candidate."""
    params = {"task": job.task, "frames": job.video_frames, "size": job.video_size, "seed": job.seed}
    limits = Limits(wall_seconds=300, cpu_seconds=300, memory_mb=6144, open_files=1024, file_size_mb=256)
    report = run_in_sandbox(Job(kind="video", source="", params=params, expose=expose), scratch, limits)
    if report.ok:
        result.artifacts["video"] = report.result["video"]
    elif on_event is not None:
        on_event({"event": "warning", "message": f"no video of {card.name}: {report.describe()}"})
