"""The sandboxed worker: ``python -I -m autoreward.sandbox.worker`` inside the isolation, one process per job.

Protocol: the parent writes one ``WorkerRequest`` (JSON) to stdin and closes it. The worker keeps its original
stdout as a private event channel; fds 1 and 2 are ``output.log``, which the parent created in the job's fresh
scratch directory, so the program's prints land in a size-limited file instead of the protocol. It then writes
JSON lines: any number of ``{"type": "event", "data": ...}`` while the job runs, and one
``{"type": "report", ...}`` at the end. A worker that dies without a report is explained by the parent
(signal, fault log, limits).

The worker ends with ``os._exit`` once its report is out: a thread the program left running cannot keep it
alive. The worker lives for the whole job (a cold numpy import alone costs ~100 ms), so the reward is an in-process
call here, never a round trip.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
import threading
import traceback
from typing import IO, Any

from autoreward.machine import die_with_parent
from autoreward.reward import FILENAME, error_line, load_reward
from autoreward.sandbox import watchdog
from autoreward.sandbox.jobs import JobContext, WorkerRequest, resolve_job
from autoreward.sandbox.limits import apply_limits
from autoreward.sandbox.seccomp import install_filter

OUTPUT_LOG = "output.log"
FAULT_LOG = "fault.log"

_REFUSED = {errno.EROFS: "read-only file system", errno.EACCES: "permission denied", errno.EPERM: "not permitted"}


def _take_event_channel() -> IO[str]:
    """Keep stdout for events; send fd 1 (prints, C-level noise) to fd 2, the parent's output log."""
    events = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    return events


class _Channel:
    """The event stream, written by the job and (once, at the end) by the report; a lock keeps lines whole."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.lock = threading.Lock()

    def write(self, text: str) -> int:
        with self.lock:
            return self.stream.write(text)

    def flush(self) -> None:
        with self.lock:
            self.stream.flush()

    def report(self, report: dict[str, Any]) -> None:
        with self.lock:
            self.stream.write(json.dumps({"type": "report", **report}, default=str) + "\n")
            self.stream.flush()


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
    request = WorkerRequest.model_validate(json.loads(sys.stdin.buffer.read()))  # json: lone surrogates pass
    channel = _Channel(_take_event_channel())
    die_with_parent()
    apply_limits(request.limits)
    job = request.job
    sys.path += [str(path) for path in job.python_path]  # after our own: a user's folder shadows nothing

    def watch() -> None:
        watchdog.start(FILENAME, job.call_seconds, channel.report)

    ctx = JobContext(job, request.scratch, channel, lambda: _lockdown(request), load_reward, watch)  # type: ignore[arg-type]
    try:
        report: dict[str, Any] = {"status": "ok", "result": resolve_job(job.entry_point)(ctx)}
    except BaseException as err:  # the program may raise anything, SystemExit and KeyboardInterrupt included
        report = classify(err)
    try:
        channel.report(report)
    except (OSError, ValueError):
        return 1
    return 0


if __name__ == "__main__":
    code = main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # the program may have replaced or closed them
            stream.flush()
    os._exit(code)  # no interpreter shutdown: threads the program started cannot hold the worker
