"""What this machine offers a run: its cores (training's workers and the local LLM server size themselves by it)."""

from __future__ import annotations

import os


def cores() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
