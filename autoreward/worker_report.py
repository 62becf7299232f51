"""What a training worker reports, checked in the parent before it is stored, analysed, shown or prompted.

The training process loaded the reward program, so everything in its ``TrainResult`` may be forged: names,
numbers and text. The checks here are the one gate between that report and the run store: component names must
be identifiers the Critic's dry run saw the program return (``Verdict.components``); numbers must be finite and
bounded (ints non-negative); artefact entries plain relative paths; error text bounded, without control or
markup characters; the ids are the job's, never the worker's. What does not pass is dropped and counted, so
the loop can say so once.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection
from typing import Any

from autoreward.critic.verdict import Verdict
from autoreward.reward import bad_name
from autoreward.sanitize import count, number, plain
from autoreward.training.models import TrainJob, TrainResult
from autoreward.training.stats import Checkpoint, ComponentStats, EpisodeSummary, Evaluation

MAX_ERROR_CHARS = 600
MAX_TRACEBACK_CHARS = 4000
MAX_ARTEFACTS = 32
MAX_ENTRIES = 10_000  # checkpoints, rollouts: more than any job asks for
_ARTEFACT_PATH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}(?:/[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}){0,7}")
_COUNTS = ("timesteps", "total_timesteps", "n_envs")
_OPTIONAL_COUNTS = ("error_line", "error_step", "kept_timesteps")
_RATES = ("wall_s", "fps")
_CHECKPOINT_VALUES = ("fitness_mean", "fitness_min", "fitness_max", "reward_return_mean", "builtin_return_mean",
                      "length_mean", "eval_fitness")  # fmt: skip
_CHECKPOINT_COUNTS = ("timesteps", "steps", "episodes", "terminated", "truncated")


class _Dropped:
    """What the checks removed, counted by kind, worded once."""

    def __init__(self) -> None:
        self.kinds: Counter[str] = Counter()
        self.names: set[str] = set()

    def __call__(self, kind: str, n: int = 1) -> None:
        self.kinds[kind] += n

    def note(self) -> str:
        """One line on what was dropped, "" when nothing was."""
        if not self.kinds:
            return ""
        parts = [f"{n} {kind}" for kind, n in sorted(self.kinds.items())]
        return "dropped from its training's report: " + ", ".join(parts)


def checked_report(job: TrainJob, result: TrainResult, verdict: Verdict | None) -> tuple[TrainResult, str]:
    """``result`` with everything outside the rules dropped, and one line on what was ("" when nothing).

    ``verdict``: the program's Critic verdict, whose dry-run component names are the only ones kept; without
    recorded names (the env's own reward, an older record) any identifier is. The result is a new value."""
    allowed = verdict.components if verdict is not None else None
    dropped = _Dropped()
    data = result.model_dump()
    data["candidate_id"], data["task"] = job.candidate_id, job.task
    for key in _COUNTS:
        data[key] = _kept_count(data[key], 0, key, dropped)
    for key in _OPTIONAL_COUNTS:
        data[key] = _kept_count(data[key], None, key, dropped)
    for key in _RATES:
        data[key] = _kept_value(data[key], 0.0, dropped)
    data["error"] = None if result.error is None else plain(result.error, MAX_ERROR_CHARS, one_line=True)
    data["traceback"] = None if result.traceback is None else plain(result.traceback, MAX_TRACEBACK_CHARS)
    data["hyperparams_source"] = plain(result.hyperparams_source, 200, one_line=True)
    data["artifacts"] = _artefacts(result.artifacts, dropped)
    checkpoints = [_checkpoint(c, allowed, dropped) for c in result.checkpoints[:MAX_ENTRIES]]
    data["checkpoints"] = [c for c in checkpoints if c is not None]
    data["evaluation"] = _evaluation(result.evaluation, allowed, dropped) if result.evaluation else None
    if dropped.names:
        dropped("component names outside the dry run's", len(dropped.names))
    return TrainResult.model_validate(data), dropped.note()


def _kept_count(value: Any, default: int | None, key: str, dropped: _Dropped) -> int | None:
    if value is None:
        return default
    kept = count(value)
    if kept is None:
        dropped(f"bad {key}")
        return default
    return kept


def _kept_value(value: Any, default: float | None, dropped: _Dropped) -> float | None:
    if value is None:
        return default
    kept = number(value)
    if kept is None:
        dropped("non-finite or out-of-range values")
        return default
    return kept


def _name_ok(name: str, allowed: Collection[str] | None, dropped: _Dropped) -> bool:
    if bad_name(name) is not None or (allowed is not None and name not in allowed):
        dropped.names.add(name)
        return False
    return True


def _component(stats: ComponentStats, dropped: _Dropped) -> ComponentStats | None:
    values = [stats.mean, stats.min, stats.max] + ([] if stats.episode_sum is None else [stats.episode_sum])
    shares = [stats.share, stats.active]
    if any(number(v) is None for v in values) or any(number(v, 1.0) is None or v < 0 for v in shares):
        dropped("non-finite or out-of-range values")
        return None
    return stats


def _checkpoint(checkpoint: Checkpoint, allowed: Collection[str] | None, dropped: _Dropped) -> Checkpoint | None:
    data = checkpoint.model_dump()
    for key in _CHECKPOINT_COUNTS:
        if count(data[key]) is None:
            dropped("checkpoints with bad counts")
            return None
    for key in _CHECKPOINT_VALUES:
        data[key] = _kept_value(data[key], None, dropped)
    data["reward_mean"] = _kept_value(data["reward_mean"], 0.0, dropped)
    data["fps"] = _kept_value(data["fps"], 0.0, dropped)
    components = {}
    for name, stats in checkpoint.components.items():
        kept = _component(stats, dropped) if _name_ok(name, allowed, dropped) else None
        if kept is not None:
            components[name] = kept.model_dump()
    data["components"] = components
    return Checkpoint.model_validate(data)


def _evaluation(evaluation: Evaluation, allowed: Collection[str] | None, dropped: _Dropped) -> Evaluation:
    """The reward-side numbers (the training process's own) checked; the rest is the program-free job's."""
    data = evaluation.model_dump()
    data["reward_return_mean"] = _kept_value(evaluation.reward_return_mean, 0.0, dropped)
    data["rollouts"] = [_rollout(r, allowed, dropped) for r in evaluation.rollouts[:MAX_ENTRIES]]
    return Evaluation.model_validate(data)


def _rollout(rollout: EpisodeSummary, allowed: Collection[str] | None, dropped: _Dropped) -> dict[str, Any]:
    data = rollout.model_dump()
    data["reward_return"] = _kept_value(rollout.reward_return, 0.0, dropped)
    sums = {}
    for name, value in rollout.component_sums.items():
        if _name_ok(name, allowed, dropped):
            kept = _kept_value(value, None, dropped)
            if kept is not None:
                sums[name] = kept
    data["component_sums"] = sums
    return data


def _artefacts(artifacts: dict[str, str], dropped: _Dropped) -> dict[str, str]:
    """Entries named by an identifier whose path is plain and relative (no ``..``, no odd characters)."""
    kept = {}
    for name, path in list(artifacts.items())[:MAX_ARTEFACTS]:
        if bad_name(name) is None and _ARTEFACT_PATH.fullmatch(path) and ".." not in path.split("/"):
            kept[name] = path
        else:
            dropped("artefact entries")
    if len(artifacts) > MAX_ARTEFACTS:
        dropped("artefact entries", len(artifacts) - MAX_ARTEFACTS)
    return kept
