"""The parent side: start a worker inside the isolation, stream its events, enforce wall time, explain its end.

Every job runs in a fresh scratch directory the parent makes (never the caller's directory, never one another
job used) with ``python -I`` (no script directory, cwd or ``PYTHON*`` variable on ``sys.path``) and ``/`` as its
working directory. The parent creates the output log itself, copies the job's ``inputs`` in before it starts,
and afterwards copies the job's regular files out into the caller's directory through ``sandbox.files``
(bounded, never through a link), then removes the scratch directory.

Reading the worker's pipe happens on a thread that never dies of a bad line (``sandbox.channel``: bounded,
validated, any parsing error dropped) and so always drains the pipe. The main thread waits on the process in
slices of ``CHECK_S`` and enforces, from outside, what the worker's own watchdog cannot be trusted with: the
wall limit, the stall limit (no progress for ``Limits.stall_seconds``: ``progress`` events count as liveness
only, the numbers inside them decide nothing, and no more of them than the job promised) and the size of its
scratch directory. The worker's own report wins; without one, the exit signal, the fault log (written when
seccomp trapped a system call) and the limits say what happened.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import IO, Any

from autoreward.reward import FILENAME
from autoreward.sandbox.channel import parse_message, plain
from autoreward.sandbox.files import copy_out, read_plain, read_tail, usage, write_new
from autoreward.sandbox.isolation import Isolation, choose_isolation, worker_env, wrap_command
from autoreward.sandbox.jobs import Job, WorkerRequest
from autoreward.sandbox.limits import Limits
from autoreward.sandbox.report import ErrorInfo, SandboxReport, Status
from autoreward.sandbox.worker import FAULT_LOG, OUTPUT_LOG

EventHandler = Callable[[dict[str, Any]], None]
log = logging.getLogger(__name__)
MAX_LINE = 1 << 20  # longest protocol line read; a longer one is dropped, not buffered
TAIL_CHARS = 2000
READER_GRACE_S = 30.0  # how long the last lines may take to arrive after the worker ended (a loaded machine)
MAX_INPUT_BYTES = 256 * 1024 * 1024
MIB = 1024 * 1024
CHECK_S = 1.0  # how often the parent looks at the clock and the scratch's size while a worker runs
MAX_ENTRIES = 20_000  # files and folders a scratch directory may hold
_PROGRAM_FRAME = re.compile(rf'File "{re.escape(FILENAME)}", line (\d+)')
_LAST_FRAME = re.compile(r'File "([^"]+)", line \d+ in (\S+)')


_RUNNING: dict[Path, Path] = {}  # a caller's scratch -> its running worker's fresh directory


def work_dir(scratch: Path) -> Path | None:
    """The directory the worker writing into ``scratch`` sees while it runs (successive halving puts its stop
    request there), or None."""
    return _RUNNING.get(Path(scratch).resolve())


def run_in_sandbox(
    job: Job,
    scratch: Path,
    limits: Limits | None = None,
    on_event: EventHandler | None = None,
    *,
    isolation: Isolation | None = None,
    seccomp: bool = True,
    reserved: Collection[str] = (),
) -> SandboxReport:
    """Run ``job`` in a fresh isolated worker; its files land in ``scratch`` afterwards (the worker never sees it),
    except those under a ``reserved`` top-level name, which stays the caller's. Whatever the job's files or
    program do, this returns a report: it raises only when no isolation may run here (``SandboxUnavailable``)."""
    limits = limits or Limits()
    mode = choose_isolation(isolation)
    scratch = Path(scratch).resolve()
    try:
        scratch.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        return _failure("crashed", "BadScratch", f"{scratch.name} cannot be made a directory: {err.strerror or err}")
    work = Path(tempfile.mkdtemp(prefix="autoreward-job-")).resolve()
    _RUNNING[scratch] = work
    try:
        try:
            for source in job.inputs:
                write_new(work / Path(source).name, read_plain(Path(source), MAX_INPUT_BYTES))
        except OSError as err:  # an input replaced by a directory, a link or a pipe: this job fails, no more
            return _failure(
                "crashed", "BadInput", f"input {Path(source).name} could not be read: {err.strerror or err}"
            )
        report = _run(job, work, limits, on_event, mode, seccomp)
        for source in job.inputs:  # the caller has them already
            with contextlib.suppress(OSError):
                (work / Path(source).name).unlink(missing_ok=True)
        skipped = copy_out(work, scratch, reserved, max_total=limits.scratch_mb * MIB, max_files=MAX_ENTRIES)
        if skipped:
            report.output_tail += "\nnot copied from the sandbox: " + "; ".join(skipped[:20])
        return report
    finally:
        _RUNNING.pop(scratch, None)
        shutil.rmtree(work, ignore_errors=True)


def _run(
    job: Job, work: Path, limits: Limits, on_event: EventHandler | None, mode: Isolation, seccomp: bool
) -> SandboxReport:
    env = worker_env(work)
    argv = [sys.executable, "-I", "-m", "autoreward.sandbox.worker"]
    cmd = wrap_command(argv, work, mode, env, job.expose)
    request = WorkerRequest(job=job, limits=limits, scratch=work, seccomp=seccomp)
    # ensure_ascii: a lone surrogate in a program is written as an escape, never a serialisation error
    payload = json.dumps(request.model_dump(mode="json"), ensure_ascii=True).encode()

    start = time.monotonic()
    log = os.open(work / OUTPUT_LOG, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_APPEND, 0o600)
    try:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env, cwd="/", start_new_session=True
        )
    finally:
        os.close(log)
    reader = _Reader(proc.stdout, on_event)  # type: ignore[arg-type]
    reader.start()
    try:
        assert proc.stdin is not None
        proc.stdin.write(payload)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    try:
        breach = _watch(proc, reader, work, limits, start)
    finally:
        if proc.poll() is None:
            _kill(proc)
    reader.join(timeout=READER_GRACE_S)
    elapsed = time.monotonic() - start
    report = breach or _explain(proc.returncode, reader.report, elapsed, work, limits, mode)
    report.seconds = elapsed
    report.isolation = mode
    report.output_tail = read_tail(work / OUTPUT_LOG, TAIL_CHARS)
    return report


def _watch(
    proc: subprocess.Popen[bytes], reader: _Reader, work: Path, limits: Limits, start: float
) -> SandboxReport | None:
    """Wait for the worker, checking the limits enforced from outside every ``CHECK_S``; on a breach kill it and
    return the report that says which."""
    while True:
        now = time.monotonic()
        deadline, why = _deadline(reader, limits, start)
        if now >= deadline:
            _kill(proc)
            return _failure("timeout", "Timeout", why)
        try:
            proc.wait(timeout=min(CHECK_S, deadline - now))
            return None
        except subprocess.TimeoutExpired:
            pass
        used, entries = usage(work, MAX_ENTRIES)
        if used > limits.scratch_mb * MIB or entries > MAX_ENTRIES:
            _kill(proc)
            return _failure(
                "output_limit", "ScratchFull",
                f"the job wrote more than {limits.scratch_mb} MiB or {MAX_ENTRIES} files into its scratch directory",
            )  # fmt: skip


def _deadline(reader: _Reader, limits: Limits, start: float) -> tuple[float, str]:
    """The earliest limit that applies now, and the reason a worker killed there is given.

    With ``progress_events``, only progress events (at most two more than promised) and the worker's first event
    count as liveness: other events, or progress forged past the promise, cannot keep a stalled job alive. So a
    job ends within ``startup_seconds + (progress_events + 3) * stall_seconds`` whatever it sends, and within
    ``stall_seconds`` of its last real progress."""
    wall = f"the worker ran past the wall-time limit of {limits.wall_seconds:g} s"
    deadlines = [(start + limits.wall_seconds, wall)]
    beats = reader.progress
    if limits.stall_seconds is not None:
        counted = beats[: limits.progress_events + 2] if limits.progress_events is not None else []
        last = counted[-1] if counted else reader.first_event if limits.progress_events else reader.last_event
        if last is None:
            first = limits.startup_seconds + limits.stall_seconds
            deadlines.append((start + first, f"the worker sent no event within {first:g} s of its start"))
        else:
            stalled = f"the worker made no progress for {limits.stall_seconds:g} s (stalled)"
            deadlines.append((last + limits.stall_seconds, stalled))
    return min(deadlines, key=lambda pair: pair[0])


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill the worker's whole process group (bwrap's --die-with-parent takes the sandbox down with it)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


class _Reader(threading.Thread):
    """Reads the worker's JSON lines: events go to ``on_event``, the final report is kept. No line, however
    hostile, ends the thread: it drains the pipe until the worker closes it."""

    def __init__(self, stream: IO[bytes], on_event: EventHandler | None) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.on_event = on_event
        self.report: dict[str, Any] | None = None
        self.first_event: float | None = None  # monotonic times of the first and last valid events: liveness only
        self.last_event: float | None = None
        self.progress: list[float] = []  # monotonic times of the ``progress`` events

    def run(self) -> None:
        try:
            self._read()
        except (OSError, ValueError) as err:  # the pipe went away under us: nothing more will come
            log.debug("worker channel closed: %s", err)

    def _read(self) -> None:
        truncated = False
        while line := self.stream.readline(MAX_LINE):
            if not line.endswith(b"\n"):
                truncated = True  # drop this over-long line, up to and including its end
                continue
            if truncated:
                truncated = False
                continue
            try:
                self._handle(line)
            except Exception as err:  # the reader must outlive anything a line causes
                log.debug("a worker line was dropped: %s", type(err).__name__)

    def _handle(self, line: bytes) -> None:
        message = parse_message(line)
        if message is None:
            return
        if message.get("type") == "report":
            self.report = plain(message, limit=100_000)
            return
        if message.get("type") != "event":
            return
        data = plain(message.get("data"))
        if not isinstance(data, dict):
            return
        now = time.monotonic()
        self.first_event = self.first_event or now
        self.last_event = now
        if data.get("event") == "progress" and len(self.progress) < MAX_ENTRIES:
            self.progress.append(now)
        if self.on_event is not None:
            try:
                self.on_event(data)
            except Exception as err:  # a display problem must never cost the job its report
                log.warning("a progress event could not be shown: %s: %s", type(err).__name__, err)


def _explain(
    returncode: int | None,
    message: dict[str, Any] | None,
    elapsed: float,
    scratch: Path,
    limits: Limits,
    mode: Isolation,
) -> SandboxReport:
    """One report from whatever evidence there is, most specific first."""
    if message is not None:
        try:
            return SandboxReport.model_validate({k: v for k, v in message.items() if k != "type"})
        except Exception:  # a report that fails validation in any way is no report
            return _failure("crashed", "BadReport", "the worker's report could not be read")
    sig = _signal_of(returncode, mode)
    fault = read_tail(scratch / FAULT_LOG, 20000)
    if sig == signal.SIGSYS or fault:
        frames = _LAST_FRAME.findall(fault)
        lines = _PROGRAM_FRAME.findall(fault)
        call = f" (in {frames[0][1]})" if frames else ""
        return _failure(
            "forbidden",
            "ForbiddenSyscall",
            f"the program made a system call the sandbox forbids: process creation, exec, network or its signal "
            f"handler{call}",
            int(lines[-1]) if lines else None,
        )
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and elapsed >= limits.cpu_seconds):
        return _failure("cpu_limit", "CpuLimit", f"the worker used more than {limits.cpu_seconds} s of CPU time")
    if sig == signal.SIGXFSZ:
        return _failure("output_limit", "OutputLimit", f"wrote more than {limits.file_size_mb} MiB to one file")
    if sig == signal.SIGKILL:
        # RLIMIT_CPU's hard limit ends a worker that ignores SIGXCPU (caught above by elapsed time); any other
        # SIGKILL not sent by us is the kernel's OOM killer.
        return _failure("memory_limit", "Killed", "the worker was killed by the kernel (out of memory)")
    what = f"signal {signal.Signals(sig).name}" if sig else f"exit code {returncode}"
    return _failure("crashed", "WorkerDied", f"the worker ended without a report ({what})", returncode=returncode)


def _failure(status: Status, kind: str, message: str, line: int | None = None, **extra: Any) -> SandboxReport:
    return SandboxReport(status=status, error=ErrorInfo(type=kind, message=message, line=line), **extra)


def _signal_of(returncode: int | None, mode: Isolation) -> int | None:
    """The signal that ended the worker; bwrap reports a child's death by signal N as exit code 128 + N."""
    if returncode is None:
        return None
    if returncode < 0:
        return -returncode
    if mode == "bwrap" and returncode > 128:
        return returncode - 128
    return None
