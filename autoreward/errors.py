"""User-facing errors: each one line that names the problem and the fix; the CLI prints it without a traceback."""

from __future__ import annotations


class AutorewardError(Exception):
    """A problem the user can fix; ``str(err)`` is the whole message."""


def first_line(err: BaseException) -> str:
    """An exception's first line (its type's name when it says nothing): how a one-line report quotes it."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


class TaskError(AutorewardError):
    """An unknown task, a malformed card, or an env that cannot be made."""
