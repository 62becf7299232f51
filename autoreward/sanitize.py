"""One function that makes text a program can influence safe to show: terminals, logs, the web page, prompts.

A reward program controls its exception messages, its prints and its component names. Any of them may carry
terminal escape sequences (ANSI CSI/OSC: retitle the window, rewrite the screen, plant hyperlinks), C0/C1
control characters or bidirectional overrides that make shown text differ from the text. ``clean`` removes them
all and caps the length, wherever such text enters the parent.
"""

from __future__ import annotations

import math
import re
from typing import Any

# ESC-introduced sequences: CSI (ESC [ ... final byte), OSC/DCS/SOS/PM/APC strings (ended by BEL or ESC \, or
# unterminated), and two-byte escapes; the 8-bit C1 forms of CSI and OSC too.
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
# What is left: C0 controls but tab and newline, DEL, C1 controls, bidirectional overrides and isolates.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
ELLIPSIS = " [...]"
MAX_NUMBER = 1e12  # a reported statistic beyond this is no reward PPO trained on (the Critic caps rewards at 1e6)
MAX_COUNT = 2**53  # timesteps, episodes, lines: exact in a float, far beyond any budget
# Markup that text embedded in a prompt could act as: a code fence (three or more backticks or tildes closes the
# fence around the text) and chat-template special tokens such as <|im_start|>.
_MARKUP = re.compile(r"`{3,}|~{3,}|<\|[^<>|]{0,64}\|>")


def clean(text: object, limit: int | None = None, *, one_line: bool = False) -> str:
    """``text`` without escape sequences or control characters, at most ``limit`` characters long.

    ``one_line`` also turns line breaks and tabs into spaces (reasons, names, table cells)."""
    out = _CONTROL.sub("", _SEQUENCE.sub("", str(text).replace("\r\n", "\n")))
    if one_line:
        out = " ".join(out.split())
    if limit is not None and len(out) > limit:
        out = out[: max(0, limit - len(ELLIPSIS))] + ELLIPSIS
    return out


def plain(text: object, limit: int | None = None, *, one_line: bool = False) -> str:
    """``clean`` text that also cannot act as markup where it is embedded (fences, special tokens): for worker
    text that reaches people and LLM prompts (errors, tracebacks)."""
    out = _MARKUP.sub("'", clean(text, one_line=one_line))
    return clean(out, limit, one_line=one_line)


def fence(text: str) -> str:
    """A Markdown code fence ``text`` cannot close: one backtick longer than its longest run (at least three)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def clean_data(value: Any, limit: int = 2000, depth: int = 0) -> Any:
    """``value`` (plain JSON data) with every string and key ``clean``ed; nesting deeper than 32 becomes None."""
    if depth > 32:
        return None
    if isinstance(value, str):
        return clean(value, limit)
    if isinstance(value, dict):
        return {clean(k, 200, one_line=True): clean_data(v, limit, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_data(v, limit, depth + 1) for v in value]
    return value


def number(value: Any, bound: float = MAX_NUMBER) -> float | None:
    """``value`` as a float if it is a real number (int or float, not a bool), finite, within ``bound``; else None.

    Worker reports and progress events are JSON from a process that may be hostile: a string, a nested object or
    an int beyond float range where a number belongs is dropped, never converted."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        result = float(value)
    except OverflowError:
        return None
    return result if math.isfinite(result) and abs(result) <= bound else None


def count(value: Any) -> int | None:
    """``value`` if it is an int (not a bool) in [0, 2**53], else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT else None


def scalar_text(value: Any, limit: int = 200) -> str | None:
    """One JSON scalar of a worker's event as safe one-line text (a number checked); None for anything else."""
    if value is None or isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        checked = number(value)
        return None if checked is None else f"{value:.6g}" if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return clean(value, limit, one_line=True)
    return None


def plural(n: int, noun: str) -> str:
    """``1 warning``, ``2 warnings``: a count with its noun, as people write it."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
