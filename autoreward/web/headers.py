"""Response headers that keep program data inert in the browser: every response forbids type sniffing, framing
and inline or foreign scripts; a run's files are also sandboxed (no script runs even if a browser renders one).

The pages need only their own stylesheet and ``ranking.js``, same-origin images, videos and ``fetch``; the
charts are inline SVG elements, which no policy here restricts, with attributes rather than ``style``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from fastapi import Request, Response

PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
FILE_POLICY = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox; frame-ancestors 'none'"
FILES = re.compile(r"^/runs/[^/]+/files/")  # what a run's workers wrote (``pages.run_file``)


async def safe_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """An HTTP middleware that sets the headers on every response, errors included."""
    response = await call_next(request)
    is_file = FILES.match(request.url.path) is not None
    response.headers["Content-Security-Policy"] = FILE_POLICY if is_file else PAGE_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
