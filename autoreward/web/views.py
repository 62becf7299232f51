"""What the pages and the JSON API show, assembled from the run store (read only, no generated code runs)."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel

from autoreward.analyzer import hacking_flag
from autoreward.evidence import summarize_evaluation, table_rows
from autoreward.preference import rankable
from autoreward.report import related_evaluations
from autoreward.store import CandidateRow, RunStatus, RunStore, RunSummary, candidate_name
from autoreward.training.models import pruned_note
from autoreward.web import charts
from autoreward.web.files import candidate_files, file_url, inside


class CandidateView(BaseModel):
    id: str
    name: str
    origin: str | None  # "built-in reward", "from FILE": a program the LLM did not write
    iteration: int
    idx: int
    status: str
    parent_id: str | None
    fitness: float | None
    success_rate: float | None
    reasons: list[dict[str, Any]]
    train_status: str | None
    error: str | None
    error_line: int | None
    timesteps: int | None
    files: dict[str, str]
    checkpoints: int
    reward_hacking: str | None = None  # the Analyzer's flag: own return rose while the true fitness did not
    pruned: str = ""  # "pruned at N steps, fitness F" when successive halving cut it


class IterationView(BaseModel):
    iteration: int
    candidates: list[CandidateView]
    analysis: str | None
    preference: dict[str, Any] | None
    llm_usage: dict[str, float] | None


class RankingTarget(BaseModel):
    """The candidates a person ranks now: the latest iteration's trained ones."""

    iteration: int
    candidates: list[str]
    waiting: bool


class EvidenceTable(BaseModel):
    """One evaluation of this run's programs: the rows ``autoreward report`` writes."""

    id: str
    task: str
    rows: list[dict[str, str]]


class RunDetail(BaseModel):
    run: RunSummary
    card: dict[str, Any]
    config: dict[str, Any]
    meta: dict[str, Any]
    fitness_plot: str | None
    llm_usage: dict[str, float]
    iterations: list[IterationView]
    ranking: RankingTarget | None
    evaluations: list[EvidenceTable] = []


class DiffLine(BaseModel):
    kind: str  # "add" | "del" | "hunk" | "file" | "same"
    text: str


class CandidateDetail(BaseModel):
    candidate: CandidateView
    source: str | None
    parent_source: str | None
    diff: list[DiffLine]
    result: dict[str, Any] | None


def candidate_view(store: RunStore, row: CandidateRow) -> CandidateView:
    result = row.trained
    return CandidateView(
        id=row.id,
        name=row.name,
        origin=row.origin_label,
        iteration=row.iteration,
        idx=row.idx,
        status=row.status,
        parent_id=row.parent_id,
        fitness=row.fitness,
        success_rate=row.success_rate,
        reasons=[reason.model_dump(mode="json") for reason in row.checked.reasons] if row.checked else [],
        train_status=result.status if result else None,
        error=result.error if result else None,
        error_line=result.error_line if result else None,
        pruned=pruned_note(row.result),
        timesteps=result.timesteps if result else None,
        files=candidate_files(row.run_id, store.run_dir(row.run_id), row.name),
        checkpoints=len(result.checkpoints) if result else 0,
        reward_hacking=hacking_flag(row.result),
    )


def _usage_total(usage: dict[int, dict[str, float]]) -> dict[str, float]:
    keys = ("tokens_in", "tokens_out", "cost", "calls")
    return {k: sum(float(u.get(k) or 0) for u in usage.values()) for k in keys}


def run_detail(store: RunStore, run_id: str) -> RunDetail:
    run = store.run(run_id)
    rows = store.candidates(run_id)
    usage = store.llm_usage(run_id)
    iterations = sorted({r.iteration for r in rows} | set(usage))
    views = []
    for it in iterations:
        analysis = store.stage(run_id, it, "analysis")
        views.append(
            IterationView(
                iteration=it,
                candidates=[candidate_view(store, r) for r in rows if r.iteration == it],
                analysis=analysis.get("text") if isinstance(analysis, dict) else analysis,
                preference=store.preference(run_id, it),
                llm_usage=usage.get(it),
            )
        )
    target = rankable(store, run_id)
    ranking = None
    if target is not None:
        iteration, candidates = target
        ranking = RankingTarget(
            iteration=iteration,
            candidates=[c.id for c in candidates],
            waiting=run.status == RunStatus.WAITING_PREFERENCE,
        )
    return RunDetail(
        run=store.summary(run),
        card=run.card,
        config=run.config,
        meta=run.meta,
        fitness_plot=file_url(run_id, "fitness.png") if inside(store.run_dir(run_id), "fitness.png") else None,
        llm_usage=_usage_total(usage),
        iterations=views,
        ranking=ranking,
        evaluations=evidence_tables(store, run_id),
    )


def evidence_tables(store: RunStore, run_id: str) -> list[EvidenceTable]:
    """The run's multi-seed evaluations, as ``autoreward report`` tabulates them ."""
    tables = []
    for evaluation_id in related_evaluations(store, run_id):
        summary = summarize_evaluation(store, evaluation_id)
        tables.append(EvidenceTable(id=evaluation_id, task=summary.task, rows=table_rows(summary)))
    return tables


def unified_diff(old: str | None, new: str | None, old_name: str, new_name: str) -> list[DiffLine]:
    """The candidate's change to its parent, one classified line each (empty without a parent)."""
    if old is None or new is None:
        return []
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), old_name, new_name, lineterm="")
    out = []
    for line in lines:
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        else:
            kind = {"+": "add", "-": "del"}.get(line[:1], "same")
        out.append(DiffLine(kind=kind, text=line))
    return out


def candidate_detail(store: RunStore, candidate_id: str) -> CandidateDetail:
    row = store.candidate(candidate_id)
    source = store.source(candidate_id)
    parent = store.source(row.parent_id) if row.parent_id else None
    diff = unified_diff(parent, source, candidate_name(row.parent_id or ""), row.name)
    return CandidateDetail(
        candidate=candidate_view(store, row), source=source, parent_source=parent, diff=diff, result=row.result
    )


def curves(result: dict[str, Any] | None) -> dict[str, Any]:
    """Inline SVG charts from the stored checkpoints, for results whose trainer wrote no PNG."""
    checkpoints = (result or {}).get("checkpoints") or []
    return {"fitness": charts.fitness_chart(checkpoints), "components": charts.component_charts(checkpoints)}
