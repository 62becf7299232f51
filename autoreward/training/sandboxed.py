"""The parent side of training: one candidate in sandboxed workers, the way every run trains.

Three jobs, each in a fresh worker and scratch directory: ``train`` (the only one that loads the reward program,
after locking itself down) trains and saves the policy as plain data; the program-free final evaluation
(``training.assessment``) measures the true fitness from the saved weights; the program-free ``video`` job films
the policy. What the training job reports about its own evaluation can be forged by the program, so only its
reward-side numbers (component sums and reward returns, which feed the Analyzer) are kept; the fitness, success
rate, lengths and built-in returns used for selection, success, early stop and export are the program-free
job's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from autoreward.envs.make import card_folders
from autoreward.sandbox.files import safe_relative, write_new
from autoreward.sandbox.jobs import Job
from autoreward.sandbox.limits import Limits
from autoreward.sandbox.report import SandboxReport
from autoreward.sandbox.run import run_in_sandbox
from autoreward.tasks import TaskCard
from autoreward.training.assessment import ENTRY_POINT as ASSESS
from autoreward.training.hyperparams import learner_settings
from autoreward.training.models import EventSink, TrainJob, TrainResult
from autoreward.training.saved_policy import NORMALIZATION, SB3_MODEL, SB3_NORMALIZATION, WEIGHTS
from autoreward.training.stats import Evaluation

TRAIN = "autoreward.training.job:run_job"
FILM = "autoreward.training.video:run_job"
PROGRAM_FREE_LIMITS = Limits(wall_seconds=600, cpu_seconds=600, memory_mb=6144, open_files=1024, file_size_mb=256)


MIN_STEPS_PER_S = 50  # the slowest honest training on a loaded machine, PPO updates included
MIN_EVAL_STEPS_PER_S = 200  # the slowest honest evaluation (no updates)
AFTER_TRAINING_EPISODES = 10  # episodes run after training besides the evaluations (the best rollout's re-check)
STALL_GRACE_S = 60.0  # on top of the steps between two events: a plot, a save, a slow moment
EPISODE_STEPS = 1000  # an episode's length where the card does not say
# The parent's own names in a training scratch directory; a worker's files never land on them.
PARENT_FILES = ("assessment", "video", "stats.json")


def training_limits(timesteps: int, job: TrainJob | None = None, card: TaskCard | None = None) -> Limits:
    """Generous CPU and wall time for the budget (>= ``MIN_STEPS_PER_S``, plus set-up, evaluation and plots), a
    firm memory cap and scratch size; with the job and its card, the stall limit: the longest honest gap between
    two progress events (the steps of a checkpoint or of a PPO rollout, whichever is longer, plus the evaluations
    at a checkpoint or after training) at the slowest honest pace. Only the job's ``checkpoints`` progress events
    reset it (``sandbox.run``), so a program slow in training is stopped within one stall of its last checkpoint,
    whatever else it sends."""
    seconds = 600 + timesteps / MIN_STEPS_PER_S
    limits = Limits(wall_seconds=seconds, cpu_seconds=int(seconds), memory_mb=6144, open_files=1024,
                    file_size_mb=512, scratch_mb=4096)  # fmt: skip
    if job is None or card is None:
        return limits
    episode = card.max_episode_steps or EPISODE_STEPS
    between = max(timesteps // job.checkpoints, learner_settings(card).rollout)
    after = (2 * job.eval_episodes + job.checkpoint_eval_episodes + AFTER_TRAINING_EPISODES) * episode
    stall = STALL_GRACE_S + between / MIN_STEPS_PER_S + after / MIN_EVAL_STEPS_PER_S
    return limits.model_copy(update={"stall_seconds": stall, "progress_events": job.checkpoints})


def train_in_sandbox(job: TrainJob, scratch: Path, on_event: EventSink | None = None) -> TrainResult:
    """Train ``job`` in isolated workers; any way a worker ends becomes a TrainResult."""
    card = job.task_card()
    folders = card_folders(card)
    scratch = Path(scratch)
    wants_policy = bool(job.eval_episodes and card.fitness_spec is not None) or job.video
    params = job.model_copy(update={"save_model": job.save_model or wants_policy}).model_dump(mode="json")
    train = Job(entry_point=TRAIN, source=job.reward_source or "", params=params, **folders)
    limits = training_limits(job.timesteps or card.timesteps, job, card)
    report = run_in_sandbox(train, scratch, limits, on_event, reserved=PARENT_FILES)
    if not report.ok:
        return _failed(job, report)
    result = TrainResult.model_validate(report.result)
    result.artifacts = _existing(result.artifacts, scratch)
    if result.status == "ok" and result.evaluation is not None:
        _assess(job, card, scratch, folders, result)
    if job.video and result.status == "ok":
        _film(job, card, scratch, on_event, folders, result)
    write_new(scratch / "stats.json", json.dumps(result.model_dump(mode="json"), indent=1).encode())
    result.artifacts["stats"] = "stats.json"
    return result


def _policy_job(entry_point: str, job: TrainJob, scratch: Path, folders: dict[str, list[Path]], **params: Any) -> Job:
    """A program-free job over the saved policy: the weights (and statistics) are copied into its own scratch."""
    inputs = [scratch / name for name in (WEIGHTS, NORMALIZATION) if (scratch / name).is_file()]
    params = {"job": job.model_dump(mode="json"), **params}
    return Job(entry_point=entry_point, params=params, inputs=inputs, **folders)


def _assess(job: TrainJob, card: TaskCard, scratch: Path, folders: dict[str, list[Path]], result: TrainResult) -> None:
    """Replace the training process's evaluation by the program-free one (keeping its reward-side numbers)."""
    task = _policy_job(ASSESS, job, scratch, folders, sb3=job.save_model)
    report = run_in_sandbox(task, scratch / "assessment", PROGRAM_FREE_LIMITS)
    reported = result.evaluation
    if not report.ok or reported is None:
        result.status, result.failure, result.evaluation = "failed", "internal", None
        result.error = f"the program-free final evaluation failed: {report.describe()}"
        return
    trusted = Evaluation.model_validate(report.result)
    by_seed = {r.seed: r for r in reported.rollouts}
    for rollout in trusted.rollouts:
        measured = by_seed.get(rollout.seed)
        if measured is not None:  # shown to the Analyzer only; never decides anything
            rollout.reward_return, rollout.component_sums = measured.reward_return, measured.component_sums
    trusted.reward_return_mean = reported.reward_return_mean
    result.evaluation = trusted
    for name, file in ((SB3_MODEL, "sb3_model"), (SB3_NORMALIZATION, "sb3_normalization")):
        if (scratch / "assessment" / name).is_file():
            result.artifacts[file] = f"assessment/{name}"


def _film(
    job: TrainJob,
    card: TaskCard,
    scratch: Path,
    on_event: EventSink | None,
    folders: dict[str, list[Path]],
    result: TrainResult,
) -> None:
    """A clip of the trained policy; a rendering problem is a warning, not a failed candidate."""
    report = run_in_sandbox(_policy_job(FILM, job, scratch, folders), scratch / "video", PROGRAM_FREE_LIMITS)
    if report.ok and (scratch / "video" / "video.mp4").is_file():
        result.artifacts["video"] = "video/video.mp4"
    elif on_event is not None:
        on_event({"event": "warning", "message": f"no video of {card.name}: {report.describe()}"})


def _existing(artifacts: dict[str, str], scratch: Path) -> dict[str, str]:
    """The artefacts the worker named that are plain paths inside ``scratch`` which the parent copied out."""
    kept = {}
    for name, rel in artifacts.items():
        try:
            path = scratch / safe_relative(rel)
        except ValueError:
            continue
        if not path.is_symlink() and path.exists():
            kept[name] = rel
    return kept


def _failed(job: TrainJob, report: SandboxReport) -> TrainResult:
    error = report.error
    return TrainResult(
        candidate_id=job.candidate_id, task=job.task, status="failed",
        failure="reward" if error is not None and error.line else "internal",
        error=f"{report.status}: {report.describe()}", error_line=error.line if error else None,
        traceback=(error.traceback if error else "") or report.output_tail, wall_s=report.seconds,
    )  # fmt: skip
