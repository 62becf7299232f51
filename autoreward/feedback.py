"""What a revision prompt knows about earlier iterations: typed, so the Analyzer and the preference step can
fill it without knowing the template."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from autoreward.sanitize import plural
from autoreward.types import Status

if TYPE_CHECKING:  # a type only: the rows are read, the store is never imported here
    from autoreward.store import CandidateRow


class ProgramResult(BaseModel):
    """A trained program worth showing again: its source, its true fitness and what training showed."""

    label: str  # how the prompt names it, e.g. "iteration 1, candidate 3"
    source: str
    fitness: float | None = None
    success: bool | None = None
    analysis: str = ""  # the Analyzer's text for this program (component statistics, failure cause)
    warnings: list[str] = Field(default_factory=list)  # the Critic's warnings (e.g. the dry run's direction check)


class RejectedProgram(BaseModel):
    """A candidate the Critic refused, and why (one line per reason)."""

    label: str
    reasons: list[str]


class PreferenceRanking(BaseModel):
    """Policies ranked best first by a person or by the synthetic oracle; labels match ProgramResult's."""

    ranking: list[str]
    by: Literal["human", "synthetic"] = "human"
    note: str = ""


class Feedback(BaseModel):
    """Everything the next design sees; any part may be empty."""

    iteration: int = Field(ge=0)  # the iteration this feedback describes
    best: list[ProgramResult] = Field(default_factory=list)
    analysis: str = ""  # the Analyzer's report on the whole iteration
    rejected: list[RejectedProgram] = Field(default_factory=list)
    pruned: list[RejectedProgram] = Field(default_factory=list)  # cut by successive halving: trailed its peers
    preference: PreferenceRanking | None = None
    max_rejected: int = Field(default=8, ge=0)  # rejections shown in the prompt (the count is always shown)


# --- assembling the feedback from an iteration's stored candidates -------------------------------------------


def position_label(row: CandidateRow) -> str:
    """``iteration 2, candidate 3`` for ``RUN/it01-c02``: prompts count from 1, as people do."""
    return f"iteration {row.iteration + 1}, candidate {row.idx + 1}"


def prompt_label(row: CandidateRow) -> str:
    """A candidate as prompts name it (its position); a program the LLM did not write says where it came from."""
    label = position_label(row)
    if row.builtin:
        return f"{label} (the env's own reward)"
    if row.origin is not None:
        return f"{label} (your program {Path(row.origin).name}, the one to improve)"
    return label


def analysis_label(row: CandidateRow) -> str:
    """A candidate as the Analyzer's iteration summary names it: its id, and where it came from if not the LLM."""
    if row.builtin:
        return f"{row.id} (the env's own reward)"
    return row.id if row.origin is None else f"{row.id} (from {Path(row.origin).name})"


def started_programs(rows: Sequence[CandidateRow]) -> list[CandidateRow]:
    """The user's programs among ``rows`` that went through training, pruned or not (iteration 1 only has them)."""
    done = (Status.TRAINED, Status.FAILED, Status.PRUNED)
    return [r for r in rows if r.origin is not None and not r.builtin and r.status in done]


def rejection_lines(rows: Sequence[CandidateRow], limit: int = 4) -> list[str]:
    """The distinct reasons an iteration's rejected candidates were refused, most recent first; the duplicates
    as one line at the end (each names another original, and a list of them would crowd out the mistakes)."""
    lines: list[str] = []
    for row in reversed(rows):
        if row.status == Status.REJECTED:
            lines += [line for line in row.failure_reasons() if line not in lines]
    repeats = sum(row.status == Status.DUPLICATE for row in rows)
    if not repeats:
        return lines[:limit]
    repeated = f"{plural(repeats, 'answer')} repeated an earlier program or its rewards: write one unlike them"
    return [*lines[: limit - 1], repeated]


def build_feedback(
    iteration: int, rows: Sequence[CandidateRow], *, best: CandidateRow | None, analysis: str,
    preference: dict[str, Any] | None, source: Callable[[str], str | None],
) -> Feedback:  # fmt: skip
    """What the next design sees of ``iteration``: the programs to show again (the user's, then the ranked best
    and worst or the best by true fitness), the Analyzer's report, and why the others were refused or cut."""
    by_id = {r.id: r for r in rows}
    shown = [best] if best is not None else []
    if preference is not None:
        order = [by_id[c] for c in preference["ranking"] if c in by_id]
        shown = [order[0], order[-1]] if len(order) > 1 else order
    started = started_programs(rows)  # the user's programs come first: they are the ones to improve
    shown = started + [r for r in shown if r not in started]
    ranking = None
    if preference is not None:
        labels = [prompt_label(by_id[c]) for c in preference["ranking"] if c in by_id]
        ranking = PreferenceRanking(ranking=labels, by=preference["source"])
    return Feedback(
        iteration=iteration,
        best=[_program_result(r, source(r.id) or "") for r in shown],
        analysis=analysis,
        rejected=[
            RejectedProgram(label=prompt_label(r), reasons=r.failure_reasons())
            for r in rows
            if r.status in (Status.REJECTED, Status.FAILED, Status.DUPLICATE)
        ],
        pruned=[
            RejectedProgram(label=prompt_label(r), reasons=[r.pruned_note]) for r in rows if r.status == Status.PRUNED
        ],
        preference=ranking,
    )


def _program_result(row: CandidateRow, source: str) -> ProgramResult:
    success = row.success_rate
    warnings = [str(r) for r in row.checked.reasons if r.severity == "warning"] if row.checked else []
    return ProgramResult(
        label=prompt_label(row), source=source, fitness=row.fitness,
        success=None if success is None else success >= 0.5, warnings=warnings,
    )  # fmt: skip
