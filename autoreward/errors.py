"""User-facing errors: each one line that names the problem and the fix; the CLI prints it without a traceback."""

from __future__ import annotations


class AutorewardError(Exception):
    """A problem the user can fix; ``str(err)`` is the whole message."""


class TaskError(AutorewardError):
    """An unknown task, a malformed card, or an env that cannot be made."""
