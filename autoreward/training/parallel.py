"""Train several candidates at once, one worker process each, ``workers`` at a time (default: the cores).

The process launcher is the one function to swap for the sandbox: ``launch_subprocess`` starts
``python -m autoreward.training.job`` directly; a sandboxed launcher returns the same kind of handle.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, Protocol

from autoreward.training.models import TrainJob, TrainResult

CandidateEvents = Callable[[str, dict[str, Any]], None]


class WorkerHandle(Protocol):
    """What ``run_job`` needs of a started worker: its event lines, and a way to wait for or stop it."""

    stdout: IO[str] | None

    def wait(self, timeout: float | None = None) -> int: ...

    def kill(self) -> None: ...


Launcher = Callable[[Path, Path], WorkerHandle]


def worker_env() -> dict[str, str]:
    """One BLAS/torch thread per worker; headless GL for videos."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    env.setdefault("MUJOCO_GL", "egl")
    return env


def launch_subprocess(job_file: Path, scratch: Path) -> WorkerHandle:
    """Plain subprocess; stderr goes to ``scratch/worker.log`` so a crash leaves its traceback behind."""
    log = (scratch / "worker.log").open("w")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "autoreward.training.job", str(job_file), str(scratch)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=worker_env(),
        )
    finally:
        log.close()


def run_job(
    job: TrainJob,
    scratch: Path,
    on_event: CandidateEvents | None = None,
    launcher: Launcher = launch_subprocess,
    timeout_s: float | None = None,
) -> TrainResult:
    """Run one job in its own worker process and return its result; a crash or timeout is a failed result."""
    scratch.mkdir(parents=True, exist_ok=True)
    job_file = scratch / "job.json"
    job_file.write_text(job.model_dump_json(), encoding="utf-8")
    proc = launcher(job_file, scratch)
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        proc.kill()

    timer = threading.Timer(timeout_s, stop) if timeout_s else None
    if timer is not None:
        timer.start()
    result: TrainResult | None = None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # blocking reads in this thread; the process ends the loop by exiting
            event = _parse(line)
            if event is None:
                continue
            if event.get("event") == "result":
                result = TrainResult.model_validate(event["result"])
            elif on_event is not None:
                on_event(job.candidate_id, event)
        code = proc.wait()
    finally:
        if timer is not None:
            timer.cancel()
    if result is not None:
        return result
    reason = f"timed out after {timeout_s:g} s" if timed_out.is_set() else f"worker exited with code {code}"
    return TrainResult(
        candidate_id=job.candidate_id,
        task=job.task,
        status="failed",
        failure="internal",
        error=f"{reason} without a result; see {scratch / 'worker.log'}",
        traceback=_tail(scratch / "worker.log"),
    )


def train_many(
    jobs: Sequence[TrainJob],
    root: Path,
    workers: int | None = None,
    on_event: CandidateEvents | None = None,
    launcher: Launcher = launch_subprocess,
    timeout_s: float | None = None,
) -> list[TrainResult]:
    """Results in the order of ``jobs``; each job's files under ``root / candidate_id``."""
    ids = [job.candidate_id for job in jobs]
    if len(set(ids)) != len(ids):
        raise ValueError(f"candidate ids must be unique, got {ids}")
    workers = max(1, workers or os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=min(workers, max(1, len(jobs)))) as pool:
        futures = [
            pool.submit(run_job, job, Path(root) / job.candidate_id, on_event, launcher, timeout_s) for job in jobs
        ]
        return [future.result() for future in futures]


def _parse(line: str) -> dict[str, Any] | None:
    try:
        event = json.loads(line)
    except json.JSONDecodeError:
        return None
    return event if isinstance(event, dict) else None


def _tail(path: Path, chars: int = 4000) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-chars:]
    except OSError:
        return None


def events_printer(stream: IO[str] = sys.stderr) -> CandidateEvents:
    """A simple ``on_event`` for scripts: one line per progress event."""
    lock = threading.Lock()

    def show(candidate: str, event: dict[str, Any]) -> None:
        if event.get("event") in ("progress", "finished", "warning"):
            fields: Iterable[str] = (f"{k}={v}" for k, v in event.items() if k != "event")
            with lock:
                print(f"[{candidate}] {event['event']} {' '.join(fields)}", file=stream, flush=True)

    return show
