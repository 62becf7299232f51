"""The sandboxed worker: ``python -m autoreward.sandbox.worker`` inside the isolation, one process per job.

Protocol: the parent writes one ``WorkerRequest`` (JSON) to stdin and closes it. The worker keeps its original
stdout as a private event channel and points fds 1 and 2 at ``output.log`` in the scratch directory, so the
program's prints land in a size-limited file instead of the protocol. It then writes JSON lines: any number of
``{"type": "event", "data": ...}`` while the job runs, and one ``{"type": "report", ...}`` at the end. A worker
that dies without a report is explained by the parent (signal, fault log, limits).

The worker lives for the whole job (a cold numpy import alone costs ~100 ms), so the reward is an in-process
call here, never a round trip.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import IO, Any

from autoreward.reward import error_line, load_reward
from autoreward.sandbox.jobs import JobContext, WorkerRequest, resolve_job
from autoreward.sandbox.limits import apply_limits
from autoreward.sandbox.seccomp import install_filter

OUTPUT_LOG = "output.log"
FAULT_LOG = "fault.log"
PR_SET_PDEATHSIG = 1

_REFUSED = {errno.EROFS: "read-only file system", errno.EACCES: "permission denied", errno.EPERM: "not permitted"}


def _take_event_channel(scratch: Path) -> IO[str]:
    """Keep stdout for events; send fds 1 and 2 (prints, warnings, C-level noise) to the output log."""
    events = os.fdopen(os.dup(1), "w", buffering=1)
    log = os.open(scratch / OUTPUT_LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    return events


def _die_with_parent() -> None:
    """Ask the kernel to kill this worker if the parent dies (bwrap does it too; the fallbacks need this)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def classify(err: BaseException) -> dict[str, Any]:
    """The report for an exception that escaped the job: status, type, message and the program's line."""
    status = "exception"
    message = str(err)
    if isinstance(err, MemoryError):
        status, message = "memory_limit", f"ran out of memory under the sandbox's limit {message}".strip()
    elif isinstance(err, TimeoutError):
        status = "timeout"
    elif isinstance(err, OSError) and err.errno == errno.EFBIG:
        status, message = "output_limit", f"wrote or printed more than the file-size limit ({err})"
    elif isinstance(err, OSError) and err.errno in _REFUSED:
        status, message = "forbidden", f"the sandbox refused it ({_REFUSED[err.errno]}): {err}"
    return {
        "status": status,
        "error": {
            "type": type(err).__name__,
            "message": message[:2000],
            "line": error_line(err),
            "traceback": "".join(traceback.format_exception(err))[-4000:],
        },
    }


def _lockdown(request: WorkerRequest) -> None:
    if request.seccomp and not install_filter(request.scratch / FAULT_LOG):
        print("autoreward sandbox: pyseccomp is unavailable; no system-call filter", file=sys.stderr)


def main() -> int:
    request = WorkerRequest.model_validate_json(sys.stdin.buffer.read())
    scratch = request.scratch
    os.chdir(scratch)
    events = _take_event_channel(scratch)
    _die_with_parent()
    apply_limits(request.limits)

    ctx = JobContext(request.job, scratch, events, lambda: _lockdown(request), load_reward)
    try:
        report: dict[str, Any] = {"status": "ok", "result": resolve_job(request.job.kind)(ctx)}
    except BaseException as err:  # the program may raise anything, SystemExit and KeyboardInterrupt included
        report = classify(err)
    try:
        events.write(json.dumps({"type": "report", **report}, default=str) + "\n")
        events.flush()
    except (OSError, ValueError):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
