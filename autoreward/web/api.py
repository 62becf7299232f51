"""The JSON API: the same views the pages show, and the ranking POST that stores a human preference."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from autoreward.preference import RankingConflict, RankingError, store_ranking
from autoreward.store import RunStatus, RunStore, RunSummary
from autoreward.web import views
from autoreward.web.deps import candidate_id, find_run, open_store

router = APIRouter(prefix="/api")
Store = Annotated[RunStore, Depends(open_store)]


class PreferenceIn(BaseModel):
    """A ranking of the latest iteration's trained candidates, best first."""

    ranking: list[str] = Field(min_length=1, description="candidate ids, best first")
    iteration: int | None = Field(default=None, description="the iteration ranked; None: the latest trained one")


class PreferenceOut(BaseModel):
    run_id: str
    iteration: int
    source: str
    ranking: list[str]
    status: str
    next_step: str


@router.get("/runs")
def list_runs(store: Store) -> list[RunSummary]:
    return [store.summary(run) for run in store.runs()]


@router.get("/runs/{run_id}")
def get_run(run_id: str, store: Store) -> views.RunDetail:
    find_run(store, run_id)
    return views.run_detail(store, run_id)


@router.get("/runs/{run_id}/candidates/{name}")
def get_candidate(run_id: str, name: str, store: Store) -> views.CandidateDetail:
    return views.candidate_detail(store, candidate_id(store, run_id, name))


@router.get("/runs/{run_id}/preference")
def get_preference(run_id: str, store: Store) -> dict[str, Any]:
    """What to rank now, and the ranking stored for that iteration (if any)."""
    find_run(store, run_id)
    target = views.run_detail(store, run_id).ranking
    stored = store.preference(run_id, target.iteration) if target else None
    return {"target": target.model_dump() if target else None, "stored": stored}


@router.post("/runs/{run_id}/preference", status_code=201)
def post_preference(run_id: str, body: PreferenceIn, store: Store) -> PreferenceOut:
    run = find_run(store, run_id)
    try:
        iteration = store_ranking(store, run_id, body.ranking, body.iteration)
    except RankingConflict as err:
        raise HTTPException(409, str(err)) from None
    except RankingError as err:
        raise HTTPException(422, str(err)) from None
    waiting = run.status == RunStatus.WAITING_PREFERENCE
    hint = f"`autoreward resume {run_id}` continues with this ranking" if waiting else "stored for the record"
    return PreferenceOut(
        run_id=run_id, iteration=iteration, source="human", ranking=body.ranking, status=run.status, next_step=hint
    )
