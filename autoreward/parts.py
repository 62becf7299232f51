"""The real stage implementations the loop runs with: the Critic, sandboxed training, the Analyzer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autoreward.critic import critique
from autoreward.critic.verdict import Verdict
from autoreward.loop import Parts, Review
from autoreward.runconfig import RunConfig
from autoreward.tasks import TaskCard
from autoreward.training.models import TrainJob, TrainResult


def training_limits(timesteps: int) -> Any:
    """Limits for one training worker: generous CPU and wall time for the budget, a firm memory cap."""
    from autoreward.sandbox.limits import Limits

    seconds = 600 + timesteps / 50  # >= 50 steps/s even on a loaded machine, plus set-up, evaluation and video
    return Limits(wall_seconds=seconds, cpu_seconds=int(seconds), memory_mb=6144, open_files=1024, file_size_mb=512)


def train_in_sandbox(job: TrainJob, scratch: Path, on_event: Any, card: TaskCard) -> TrainResult:
    """One candidate's training inside its own isolated worker; any way it ends becomes a TrainResult."""
    from autoreward.sandbox.jobs import Job
    from autoreward.sandbox.run import run_in_sandbox

    expose = [card.source.parent] if card.source is not None else []
    sandbox_job = Job(kind="train", source=job.reward_source, params=job.model_dump(mode="json"), expose=expose)
    report = run_in_sandbox(sandbox_job, scratch, training_limits(job.timesteps or card.timesteps), on_event)
    if report.ok:
        result = TrainResult.model_validate(report.result)
        if job.video and result.status == "ok":
            _film(job, scratch, on_event, expose, result)
        return result
    error = report.error
    return TrainResult(
        candidate_id=job.candidate_id, task=job.task, status="failed",
        failure="reward" if error is not None and error.line else "internal",
        error=f"{report.status}: {report.describe()}", error_line=error.line if error else None,
        traceback=(error.traceback if error else "") or report.output_tail, wall_s=report.seconds,
    )  # fmt: skip


def _film(job: TrainJob, scratch: Path, on_event: Any, expose: list[Path], result: TrainResult) -> None:
    """A clip of the trained policy, in a worker of its own; a rendering problem is a warning, not a failure."""
    from autoreward.sandbox.jobs import Job
    from autoreward.sandbox.limits import Limits
    from autoreward.sandbox.run import run_in_sandbox

    params = {"task": job.task, "frames": job.video_frames, "size": job.video_size, "seed": job.seed}
    limits = Limits(wall_seconds=300, cpu_seconds=300, memory_mb=6144, open_files=1024, file_size_mb=256)
    report = run_in_sandbox(Job(kind="video", source="", params=params, expose=expose), scratch, limits)
    if report.ok:
        result.artifacts["video"] = report.result["video"]
    elif on_event is not None:
        on_event({"event": "warning", "message": f"no video: {report.describe()}"})


def _critic(source: str, card: TaskCard, scratch: Path, review: Review | None) -> Verdict:
    return critique(source, card, review=review, scratch=scratch)


def _analyze(card: TaskCard, results: list[tuple[str, TrainResult]]) -> str:
    from autoreward.analyzer import analyze_iteration

    return analyze_iteration(card, results)


def default_parts(config: RunConfig, card: TaskCard, ask_ranking: Any = None) -> Parts:
    """The parts for ``config``: local sandboxed workers, or Ray tasks with ``--backend ray``."""
    if config.backend == "ray":
        from autoreward.ray_backend import ray_train_one

        train_one = ray_train_one(config, card)
    else:

        def train_one(job: TrainJob, scratch: Path, on_event: Any) -> TrainResult:
            return train_in_sandbox(job, scratch, on_event, card)

    return Parts(critic=_critic, train_one=train_one, analyze=_analyze, ask_ranking=ask_ranking)
