"""The web page's application: pages, JSON API and static files over one run store root."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from autoreward.web import api, pages
from autoreward.web.access import require_token
from autoreward.web.headers import safe_headers

STATIC = Path(__file__).parent / "static"


def create_app(store_root: str | Path, token: str | None = None) -> FastAPI:
    """An app that reads (and stores rankings in) the run store at ``store_root``; it never runs generated code.
    With ``token``, every request must carry it (``web.access``). No interactive API docs: their page needs inline
    and foreign scripts, which the Content-Security-Policy (``web.headers``) forbids; the schema is served."""
    app = FastAPI(title="autoreward", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    app.state.store_root = Path(store_root)
    if token is not None:
        app.middleware("http")(require_token(token))
    app.middleware("http")(safe_headers)  # added last, so it is outermost: a 401 carries the headers too
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
