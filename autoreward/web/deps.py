"""Per-request access to the run store: one connection per request, so a page never shares a transaction
with another thread, and every request sees what the running loop has committed so far."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from fastapi import HTTPException, Request

from autoreward.errors import AutorewardError
from autoreward.store import Run, RunStore


def open_store(request: Request) -> Iterator[RunStore]:
    store = RunStore(Path(request.app.state.store_root))
    try:
        yield store
    finally:
        store.close()


def find_run(store: RunStore, run_id: str) -> Run:
    """The run, or a 404 whose message says how to list runs."""
    try:
        return store.run(run_id)
    except AutorewardError as err:
        raise HTTPException(404, str(err)) from None


def candidate_id(store: RunStore, run_id: str, name: str) -> str:
    """The id of the run's candidate named ``name`` (``itNN-cNN``) when it exists, else a 404."""
    find_run(store, run_id)
    for row in store.candidates(run_id):
        if row.name == name:
            return row.id
    raise HTTPException(404, f"no candidate {name!r} in run {run_id!r}")
