"""The HTML pages (Jinja2 templates) and the artefact files they link to."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from autoreward.store import RunStore
from autoreward.web import views
from autoreward.web.deps import candidate_id, find_run, open_store
from autoreward.web.files import DOWNLOAD, inside, media_type

router = APIRouter()
Store = Annotated[RunStore, Depends(open_store)]
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _when(stamp: float | None) -> str:
    return "" if stamp is None else dt.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S")


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


templates.env.filters["when"] = _when
templates.env.filters["num"] = _num


@router.get("/", response_class=HTMLResponse)
def runs_page(request: Request, store: Store) -> HTMLResponse:
    runs = [store.summary(run) for run in store.runs()]
    return templates.TemplateResponse(request, "runs.html", {"runs": runs, "root": str(store.root)})


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(run_id: str, request: Request, store: Store) -> HTMLResponse:
    find_run(store, run_id)
    detail = views.run_detail(store, run_id)
    results = {row.id: row.result for row in store.candidates(run_id)}
    charts = {}  # drawn only where the trainer left no PNG
    for iteration in detail.iterations:
        for c in iteration.candidates:
            if c.checkpoints and not ({"learning_curve", "components"} <= c.files.keys()):
                charts[c.id] = views.curves(results.get(c.id))
    return templates.TemplateResponse(request, "run.html", {"d": detail, "charts": charts})


@router.get("/runs/{run_id}/candidates/{name}", response_class=HTMLResponse)
def candidate_page(run_id: str, name: str, request: Request, store: Store) -> HTMLResponse:
    detail = views.candidate_detail(store, candidate_id(store, run_id, name))
    return templates.TemplateResponse(
        request, "candidate.html", {"c": detail, "run_id": run_id, "charts": views.curves(detail.result)}
    )


@router.get("/runs/{run_id}/files/{relative:path}")
def run_file(run_id: str, relative: str, store: Store) -> FileResponse:
    """A file of the run's directory (video, plot, code); never anything outside it, and anything not of a safe
    type only as a download. Range requests work."""
    find_run(store, run_id)
    path = inside(store.run_dir(run_id), relative)
    if path is None:
        raise HTTPException(404, f"no file {relative!r} in run {run_id!r}")
    kind = media_type(path)
    if kind == DOWNLOAD:
        return FileResponse(path, media_type=kind, filename=path.name, content_disposition_type="attachment")
    return FileResponse(path, media_type=kind)
