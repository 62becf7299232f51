"""What the parent accepts from a worker's event channel: bounded plain data, checked before anyone computes with it.

The worker's process is the program's, so each line may be anything: deeply nested JSON (``RecursionError`` in
the parser), numbers past any sensible range, ``NaN``, text with escape sequences. ``parse_message`` turns one
line into a plain ``dict`` or None and never raises; ``plain`` keeps only JSON-shaped data within bounds: an int
beyond ``MAX_INT`` becomes a float (so no consumer can be made to compute with a thousand-digit int, and a
magnitude check still sees its size), floats stay floats (``NaN`` included: the Critic must see it to name it;
``finite=True`` drops non-finite ones), strings are cleaned, cut and made valid UTF-8, containers hold at most
``MAX_ITEMS`` entries and ``MAX_DEPTH`` levels. Anything else becomes None, so a consumer's own validation
rejects it.
"""

from __future__ import annotations

import json
import math
from typing import Any

from autoreward.sanitize import clean

MAX_INT = 2**53  # beyond this an int no longer survives a float, and no honest count gets there
MAX_DEPTH = 32
MAX_ITEMS = 100_000


def parse_message(line: bytes) -> dict[str, Any] | None:
    """One protocol line as a JSON object, or None for anything else (never raises)."""
    try:
        message = json.loads(line)
    except Exception:  # ValueError, RecursionError, MemoryError: any line may be hostile
        return None
    return message if isinstance(message, dict) else None


def plain(value: Any, *, finite: bool = False, limit: int = 2000, depth: int = 0) -> Any:
    """``value`` as bounded JSON data (non-finite floats become None when ``finite``)."""
    if depth > MAX_DEPTH:
        return None
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        value = value if -MAX_INT <= value <= MAX_INT else _as_float(value)
        if isinstance(value, int):
            return value
    if isinstance(value, float):
        return value if math.isfinite(value) or not finite else None
    if isinstance(value, str):
        return _text(value, limit)
    if isinstance(value, list):
        return [plain(v, finite=finite, limit=limit, depth=depth + 1) for v in value[:MAX_ITEMS]]
    if isinstance(value, dict):
        items = list(value.items())[:MAX_ITEMS]
        return {
            _text(k, 200, one_line=True): plain(v, finite=finite, limit=limit, depth=depth + 1)
            for k, v in items
            if isinstance(k, str)
        }
    return None


def _text(value: str, limit: int, one_line: bool = False) -> str:
    """Cleaned text that is valid UTF-8 (a lone surrogate, which JSON allows, becomes ``?``): it can always be
    stored, serialised and shown."""
    return clean(value.encode("utf-8", "replace").decode("utf-8"), limit, one_line=one_line)


def _as_float(value: int) -> float:
    """A huge int as the float nearest to it (infinite past float's range)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf
