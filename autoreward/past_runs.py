"""Memory across runs (``--examples-from-runs``): the best programs earlier runs on the same env trained, shown
to the Designer as worked examples with the true fitness they reached.

Only programs that were trained and measured by the program-free evaluation count; the env's own reward, which
has no program, never does. Programs of the same task come first: another task's fitness on the same env (say
hopping backwards) says how well that program did its own job, not this one.
"""

from __future__ import annotations

from pydantic import BaseModel, ValidationError

from autoreward.store import Run, RunStore, Status
from autoreward.tasks import TaskCard

MAX_EXAMPLES = 2


class PastProgram(BaseModel):
    """One earlier run's best program and what it was for."""

    run_id: str
    candidate_id: str
    task: str
    intent: str
    fitness: float
    fitness_text: str
    source: str


def past_programs(store: RunStore, card: TaskCard, run_id: str, limit: int = MAX_EXAMPLES) -> list[PastProgram]:
    """Up to ``limit`` programs, each the best of one earlier run on ``card.env_id`` (``run_id`` excluded):
    the same task's first, then the highest true fitness."""
    best: list[PastProgram] = []
    for run in store.runs():
        if run.id == run_id or run.card.get("env_id") != card.env_id:
            continue
        rows = [
            r for r in store.candidates(run.id)
            if r.status == Status.TRAINED and r.fitness is not None and not r.builtin
        ]  # fmt: skip
        for row in sorted(rows, key=lambda r: r.fitness or 0.0, reverse=True):
            source = store.source(row.id)
            if source is not None:
                best.append(_past(run, row.id, float(row.fitness or 0.0), source))
                break
    best.sort(key=lambda p: (p.task != card.name, -p.fitness))
    return best[:limit]


def _past(run: Run, candidate_id: str, fitness: float, source: str) -> PastProgram:
    return PastProgram(
        run_id=run.id, candidate_id=candidate_id, task=run.task, intent=str(run.card.get("intent", "")),
        fitness=fitness, fitness_text=_fitness_text(run.card, run.task), source=source,
    )  # fmt: skip


def _fitness_text(card: dict, task: str) -> str:
    """How the stored card measured fitness (a card stored by an older version may no longer validate)."""
    try:
        return TaskCard.model_validate(card).fitness_text
    except ValidationError:
        return f"the fitness of {task}"
