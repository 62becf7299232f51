"""Who may read the page: anyone on this machine for a loopback bind; only holders of the token otherwise.

A non-local bind (``serve --host``) shows run stores (programs, logs) to the network, so it needs a token, given
with ``--token`` or generated with ``--token auto`` and printed once. A request carries it as
``Authorization: Bearer TOKEN``, a ``?token=`` query (which also sets a cookie, so the page's own links work) or
that cookie; anything else gets 401. Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from fastapi.responses import PlainTextResponse

from autoreward.errors import AutorewardError

COOKIE = "autoreward_token"
GENERATE = "auto"
LOCAL_NAMES = ("localhost",)


def is_local(host: str) -> bool:
    """Whether ``host`` is a loopback address (or ``localhost``)."""
    if host in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_token(host: str, token: str | None) -> str | None:
    """The token the server will require: ``None`` for a loopback bind without one, a fresh one for ``auto``;
    a non-local bind without one is refused with one line."""
    if token == GENERATE:
        return secrets.token_urlsafe(24)
    if token is not None and len(token) < 16:
        raise AutorewardError("--token must be at least 16 characters (or --token auto to generate one)")
    if token is None and not is_local(host):
        raise AutorewardError(
            f"serving on {host} shows your runs to the network: pass --token TOKEN (or --token auto to generate one)"
        )
    return token


def _presented(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query_params.get("token") or request.cookies.get(COOKIE) or ""


def require_token(token: str) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """An HTTP middleware that answers 401 unless the request carries ``token``."""
    expected = token.encode()

    async def check(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        presented = _presented(request)
        if not hmac.compare_digest(presented.encode(), expected):
            return PlainTextResponse("autoreward: this page needs its token (?token=...)\n", status_code=401)
        response = await call_next(request)
        if request.query_params.get("token"):
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return response

    return check
