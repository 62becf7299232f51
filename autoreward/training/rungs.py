"""The parent's side of a successive-halving rung: the worker's ``rung`` event is a trigger; the value is measured
here, program-free.

The training worker loaded the reward program, which controls its whole process: any number it reports (a rung's
fitness, a checkpoint's) may be forged, and a forged rung value would cut the honest candidates. So at a rung the
worker only saves its policy as plain data under fixed names (``callbacks.RungCallback``) and names the rung's
index. ``RungJudge``, the event sink the parent puts between the worker and the caller's sink, accepts only the
next index it expects, copies the weights out of the worker's directory at once (bounded, never through a link),
and measures them on a thread of its own with the final evaluation's sandboxed job (``training.assessment``: the
program is never loaded); the value then goes to the ``Decider``, and a cut candidate is asked to stop. The
worker's own ``rung`` and ``pruned`` events never pass on: the caller sees the parent's.

With a decider, the worker pauses at the rung (``RungCallback``'s gate) until the parent has decided: a cut
candidate trains no step past its rung, and the assessment runs on the core the paused worker leaves idle.
Training on instead (asynchronous) was measured to cost more: on a machine whose cores all train, the
assessment (a sandboxed job, 10 episodes; ``probe_s`` seconds) slowed every worker while a cut candidate trained
``probe_s`` x its speed steps past its rung (CartPole in tests/test_halving.py's run: a rung at 6750 steps, cut
at 13576). Without a decider (``evaluate``'s curves) nothing waits: the rungs are measured while training goes
on, and nothing is cut.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import stat
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from autoreward.envs.make import card_folders
from autoreward.sandbox.files import read_plain, write_new
from autoreward.sandbox.jobs import Job
from autoreward.sandbox.run import run_in_sandbox, work_dir
from autoreward.training.assessment import ENTRY_POINT as ASSESS
from autoreward.training.callbacks import RungCallback
from autoreward.training.halving import Decider, request_stop, tie_broken
from autoreward.training.models import EventSink, RungReport, TrainJob, TrainResult
from autoreward.training.sandboxed import PROGRAM_FREE_LIMITS
from autoreward.training.saved_policy import MAX_BYTES, NORMALIZATION, WEIGHTS
from autoreward.training.stats import Evaluation

RUNG_SEED_SHIFT = 2_000_000  # a rung's episodes never replay the final evaluation's
RUNG_WAIT_S = PROGRAM_FREE_LIMITS.wall_seconds + 60  # a paused worker goes on by itself after this
MAX_SHOWN_STEPS = 2**53  # a progress event's step count above this is not shown in a cut's note
# The worker's fixed rung names -> the names the program-free job reads.
SAVED = {f"{RungCallback.PREFIX}{WEIGHTS}": WEIGHTS, f"{RungCallback.PREFIX}{NORMALIZATION}": NORMALIZATION}
log = logging.getLogger(__name__)


class RungJudge:
    """One candidate's event sink: triggers program-free rung assessments, asks ``decider``, stops a cut worker;
    ``finish`` waits for the assessments still running and puts the measured rungs into the result. Train
    ``judge.job``: with a decider, it asks the worker to pause at each rung until the judge lets it go on."""

    def __init__(
        self, job: TrainJob, scratch: Path, on_event: EventSink | None, decider: Decider | None = None
    ) -> None:
        wait = RUNG_WAIT_S if decider is not None and job.rungs else 0.0
        self.job = job.model_copy(update={"rung_wait_s": wait})
        self.scratch = Path(scratch)
        self.on_event = on_event
        self.decider = decider
        self.reports: list[RungReport] = []
        self._expected = 0
        self._cut = False
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[Future[None]] = []

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "rung":
            self._trigger(event.get("rung"))
        elif kind != "pruned":  # only the parent cuts
            self._pass(event)
            if kind == "progress":
                self._recheck(event.get("timesteps"))

    def finish(self, result: TrainResult) -> TrainResult:
        """``result`` with the parent-measured rungs (whatever the worker wrote there is dropped)."""
        for future in self._pending:
            future.result()
        if self._pool is not None:
            self._pool.shutdown()
        for saved in SAVED:  # the worker's rung copies came back with its files: not artefacts
            try:
                (self.scratch / saved).unlink(missing_ok=True)
            except OSError as err:
                log.debug("rung copy left in %s: %s", self.scratch, err)
        with self._lock:
            rungs = sorted(self.reports, key=lambda r: r.rung)
        return result.model_copy(update={"rungs": rungs, "pruned": None})

    def _trigger(self, rung: Any) -> None:
        """The next expected rung (a bounded int, in order) is copied out now and assessed on the pool."""
        if type(rung) is not int or rung != self._expected or rung >= len(self.job.rungs):
            return  # a forged, repeated, out-of-order or unbounded index decides nothing
        self._expected += 1
        started = time.monotonic()
        live = work_dir(self.scratch) or self.scratch
        try:
            copied = copy_rung_policy(live)
        except OSError as err:
            self._pass({"event": "warning", "message": f"rung {rung}: no weights to assess ({err}); not judged"})
            release(live)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rung")
        self._pending.append(self._pool.submit(self._assess, rung, copied, started, live))

    def _assess(self, rung: int, copied: Path, started: float, live: Path) -> None:
        """On the pool: measure, record, decide; nothing here may end the candidate's training or the run."""
        try:
            report = assess_rung(self.job, rung, copied)
            if report is None:
                self._pass({"event": "warning", "message": f"rung {rung}: its assessment failed; not judged"})
                return
            report.probe_s = time.monotonic() - started
            self._judge(report)
        except Exception as err:
            log.warning("rung %d of %s not judged: %s: %s", rung, self.job.candidate_id, type(err).__name__, err)
        finally:
            shutil.rmtree(copied, ignore_errors=True)
            release(live)  # after the stop file, if cut: the worker ends at once

    def _judge(self, report: RungReport) -> None:
        with self._lock:
            self.reports.append(report)
            cut = not self._cut and self.decider is not None
            cut = cut and self.decider.report(self.job.candidate_id, report.rung, report.value)  # type: ignore[union-attr]
            self._cut = self._cut or cut
        self._pass({"event": "rung", "report": report.model_dump(mode="json")})
        if cut:
            self._prune(report)

    def _recheck(self, steps: Any) -> None:
        """Past a rung, each progress event asks whether the candidate has fallen out of that rung's top."""
        with self._lock:
            if self._cut or not self.reports or self.decider is None:
                return
            if not self.decider.recheck(self.job.candidate_id):
                return
            self._cut = True
            last = self.reports[-1]
        shown = type(steps) is int and last.timesteps <= steps <= MAX_SHOWN_STEPS
        self._prune(last.model_copy(update={"timesteps": steps}) if shown else last)

    def _prune(self, report: RungReport) -> None:
        request_stop(self.scratch)
        self._pass({"event": "pruned", "report": report.model_dump(mode="json")})

    def _pass(self, event: dict[str, Any]) -> None:
        if self.on_event is not None:
            self.on_event(event)


def release(live: Path) -> None:
    """Let a worker paused at its rung go on: one byte into its gate FIFO in ``live``, opened without blocking or
    following a link; nothing when no worker waits there (it trains on, or has ended)."""
    try:
        fd = os.open(live / RungCallback.GATE, os.O_WRONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.write(fd, b"g")
    except OSError as err:
        log.debug("rung gate in %s: %s", live, err)
    finally:
        os.close(fd)


def copy_rung_policy(live: Path) -> Path:
    """The rung's weights (and statistics) copied from the worker's directory ``live`` into a fresh directory of
    the parent's, under the names the program-free job reads; OSError when the weights are missing, a link, not a
    regular file or too large."""
    copied = Path(tempfile.mkdtemp(prefix="autoreward-rung-"))
    try:
        for saved, name in SAVED.items():
            try:
                data = read_plain(live / saved, MAX_BYTES)
            except FileNotFoundError:
                if name == WEIGHTS:
                    raise
                continue
            write_new(copied / "policy" / name, data)
    except BaseException:
        shutil.rmtree(copied, ignore_errors=True)
        raise
    return copied


def assess_rung(job: TrainJob, rung: int, copied: Path) -> RungReport | None:
    """The true fitness of the policy in ``copied/policy``, from a program-free sandboxed job (None if it failed
    or measured no finite fitness), with the env's own return breaking ties."""
    card = job.task_card()
    episodes = job.model_copy(
        update={"reward_source": None, "eval_episodes": job.rung_episodes, "seed": job.seed + RUNG_SEED_SHIFT}
    )
    inputs = sorted((copied / "policy").iterdir())
    task = Job(
        entry_point=ASSESS, params={"job": episodes.model_dump(mode="json")}, inputs=inputs, **card_folders(card)
    )
    report = run_in_sandbox(task, copied / "assessment", PROGRAM_FREE_LIMITS)
    if not report.ok:
        log.warning("rung %d of %s: %s", rung, job.candidate_id, report.describe())
        return None
    evaluation = Evaluation.model_validate(report.result)
    if not math.isfinite(evaluation.fitness_mean):
        return None
    fitness, builtin = evaluation.fitness_mean, evaluation.builtin_return_mean
    secondary = builtin if math.isfinite(builtin) else None
    return RungReport(
        rung=rung, timesteps=job.rungs[rung], fitness=fitness, secondary=secondary,
        value=tie_broken(fitness, secondary), episodes=evaluation.episodes,
        probe_steps=round(evaluation.length_mean * evaluation.episodes),
    )  # fmt: skip
