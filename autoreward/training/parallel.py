"""Train several candidates at once, ``workers`` at a time (default: the cores), each in its own worker.

One torch thread per worker and parallelism across candidates (FACTS.md). Threads here only wait on worker
processes; results are handed to ``on_result`` as each candidate finishes, so a caller can store them at once.
Each worker's events pass through a ``RungJudge`` (``rungs.py``): the rung values are measured program-free here,
never taken from the worker. With ``halving``, the ones cut stop early (``halving.py``); their thread takes the
next candidate at once, so no rung is a barrier.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import IO, Any

from autoreward.errors import first_line
from autoreward.machine import cores
from autoreward.sandbox.isolation import SandboxUnavailable
from autoreward.sanitize import clean, scalar_text
from autoreward.training.halving import Halving, PruneLedger
from autoreward.training.models import TrainJob, TrainResult, failed_result
from autoreward.training.rungs import RungJudge
from autoreward.training.sandboxed import train_in_sandbox
from autoreward.types import EventSink, TrainOne

CandidateEvents = Callable[[str, dict[str, Any]], None]


def train_many(
    jobs: Sequence[TrainJob],
    scratches: Sequence[Path],
    workers: int | None = None,
    on_event: CandidateEvents | None = None,
    on_result: Callable[[TrainJob, TrainResult], None] | None = None,
    train_one: TrainOne = train_in_sandbox,
    halving: Halving | None = None,
) -> list[TrainResult]:
    """Results in the order of ``jobs``; job ``i`` writes under ``scratches[i]``. With ``halving``, each job
    must carry its ``rungs``; a cut candidate's result has status ``pruned``."""
    if len(jobs) != len(scratches):
        raise ValueError(f"{len(jobs)} jobs but {len(scratches)} scratch directories")
    if not jobs:
        return []
    workers = min(workers or _capacity(train_one), len(jobs))
    ledger = PruneLedger()
    results: dict[int, TrainResult] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {
            pool.submit(_train, train_one, job, Path(scratch), ledger.watch(job.candidate_id,
                        _events_for(job.candidate_id, on_event)), halving): i
            for i, (job, scratch) in enumerate(zip(jobs, scratches, strict=True))
        }  # fmt: skip
        for future in as_completed(futures):
            i = futures[future]
            results[i] = ledger.mark(future.result())
            if on_result is not None:
                on_result(jobs[i], results[i])
    return [results[i] for i in range(len(jobs))]


def _train(
    train_one: TrainOne, job: TrainJob, scratch: Path, events: EventSink, halving: Halving | None
) -> TrainResult:
    """One candidate; whatever goes wrong in its training (an odd file it left, a bug it triggers) becomes its
    own failed result, never the end of the others'. Only ``SandboxUnavailable`` (no candidate can train here)
    ends them all."""
    try:
        return _train_one(train_one, job, scratch, events, halving)
    except SandboxUnavailable:
        raise
    except Exception as err:
        return failed_result(job, "internal", RuntimeError(f"training failed: {type(err).__name__}: {first_line(err)}"))


def _train_one(
    train_one: TrainOne, job: TrainJob, scratch: Path, events: EventSink, halving: Halving | None
) -> TrainResult:
    """A backend that assesses rungs on its nodes (Ray) gets ``halving`` itself, otherwise the rungs are measured
    and decided here and a cut worker is asked to stop through its scratch directory."""
    if getattr(train_one, "hosts_halving", False):
        return train_one(job, scratch, events, halving=halving)  # type: ignore[call-arg]
    judge = RungJudge(job, scratch, events, halving)
    return judge.finish(train_one(judge.job, scratch, judge))


def _capacity(train_one: TrainOne) -> int:
    """This machine's cores, or what the backend says it can train at once (a Ray cluster's CPUs)."""
    slots = getattr(train_one, "slots", None)
    return slots() if callable(slots) else cores()


def _events_for(candidate_id: str, on_event: CandidateEvents | None) -> EventSink | None:
    if on_event is None:
        return None
    return lambda event: on_event(candidate_id, event)


def events_printer(stream: IO[str] = sys.stderr) -> CandidateEvents:
    """A simple ``on_event`` for scripts: one line per progress event. The event is a worker's: only its scalar
    fields are printed, cleaned (``sanitize.scalar_text``), so it can neither style nor rewrite the terminal."""
    lock = threading.Lock()

    def show(candidate: str, event: dict[str, Any]) -> None:
        if event.get("event") in ("progress", "finished", "warning"):
            shown = ((clean(k, 40, one_line=True), scalar_text(v)) for k, v in event.items() if k != "event")
            fields: Iterable[str] = (f"{k}={v}" for k, v in shown if v is not None)
            with lock:
                print(f"[{candidate}] {event['event']} {' '.join(fields)}", file=stream, flush=True)

    return show
