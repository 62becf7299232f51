"""What this machine offers a run and how its child processes live: its cores (training's workers and the local
LLM server size themselves by it), and the kernel's promise to end a child with its parent."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1


def cores() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent thread dies, however it dies (safe between fork and
    exec). SIGKILL, not SIGTERM: a server would otherwise shut down gracefully, after work nobody waits for."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
