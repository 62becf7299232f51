"""The web page's application: pages, JSON API and static files over one run store root."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from autoreward.web import api, pages

STATIC = Path(__file__).parent / "static"


def create_app(store_root: str | Path) -> FastAPI:
    """An app that reads (and stores rankings in) the run store at ``store_root``; it never runs generated code."""
    app = FastAPI(title="autoreward", docs_url="/api/docs", redoc_url=None, openapi_url="/api/openapi.json")
    app.state.store_root = Path(store_root)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
