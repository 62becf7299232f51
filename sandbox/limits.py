"""Resource limits for a sandboxed worker: the kernel enforces them in the child, the parent enforces wall time.

CPU time, address space, open files and file size are ``setrlimit`` limits that the worker applies to itself
before any untrusted code runs (a limit cannot be raised again without CAP_SYS_RESOURCE, which the sandbox
does not grant). What no rlimit covers the parent enforces from outside, trusting nothing the worker says
(``sandbox.run``): wall time, a stall limit (no progress for ``stall_seconds``; with ``progress_events``, only
that many progress events, plus two, count), and the total size of its scratch directory.
"""

from __future__ import annotations

import resource

from pydantic import BaseModel, Field

MIB = 1024 * 1024


class Limits(BaseModel):
    """What one worker may use. The defaults fit a dry run; a training job asks for more."""

    wall_seconds: float = Field(60.0, gt=0, description="killed by the parent after this long")
    cpu_seconds: int = Field(60, gt=0, description="RLIMIT_CPU: SIGXCPU, then SIGKILL one second later")
    memory_mb: int = Field(2048, gt=0, description="RLIMIT_AS: allocations past it raise MemoryError")
    open_files: int = Field(256, gt=0, description="RLIMIT_NOFILE")
    file_size_mb: int = Field(64, gt=0, description="RLIMIT_FSIZE: the largest file (or output log) it may write")
    scratch_mb: int = Field(512, gt=0, description="the most its scratch directory may hold (checked by the parent)")
    stall_seconds: float | None = Field(
        None, gt=0, description="killed when no event arrives for this long after the first (None: no stall limit)"
    )
    startup_seconds: float = Field(180.0, gt=0, description="how long the first event may take (with stall_seconds)")
    progress_events: int | None = Field(
        None, gt=0, description="progress events an honest job sends; only they (and no more) reset the stall"
    )


def apply_limits(limits: Limits) -> None:
    """Apply ``limits`` to the calling process (the worker itself, before it loads the program)."""
    _set(resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 1)
    _set(resource.RLIMIT_AS, limits.memory_mb * MIB)
    _set(resource.RLIMIT_NOFILE, limits.open_files)
    _set(resource.RLIMIT_FSIZE, limits.file_size_mb * MIB)
    _set(resource.RLIMIT_CORE, 0)  # a crash must not leave a core file in the scratch directory


def _set(which: int, soft: int, hard: int | None = None) -> None:
    """Lower a limit; never raise one above what the process already has."""
    _, current_hard = resource.getrlimit(which)
    hard = soft if hard is None else hard
    if current_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, current_hard), min(hard, current_hard)
    resource.setrlimit(which, (soft, hard))
