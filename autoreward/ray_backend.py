"""``--backend ray``: each candidate's sandboxed training is a Ray task, so a run can use a whole cluster's cores.

The task calls ``train_in_sandbox`` on whichever node Ray picks, into a node-local scratch directory: the program
is confined exactly as on a laptop (bwrap worker, cleared environment, limits, seccomp), since the Ray worker is
only the sandbox's parent. The artefacts come back as bytes with the result (``training.shipping``) into the
driver's scratch directory, where the run store lives. Progress events travel through one Ray queue per trainer,
drained by one driver thread into each candidate's ``on_event``, so the live table moves as workers train.

Successive halving decides in one Ray actor holding the same ``Halving`` as the local backend uses: each node's
trainer measures its candidate's rungs program-free (``training.rungs``, where the weights are), asks the actor,
and, when its candidate is cut, asks its own sandboxed worker to stop.

A Ray worker that dies (killed, out of memory, node lost) is retried once here rather than by Ray, so the live
table hears of the retry and a second death is recorded with both reasons. Ray is imported only here, and only
when this backend is chosen: ``autoreward tasks`` stays instant without it.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import threading
import uuid
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autoreward.errors import AutorewardError, first_line
from autoreward.runconfig import RunConfig
from autoreward.tasks import TaskCard
from autoreward.training.halving import Halving
from autoreward.training.models import EventSink, TrainJob, TrainResult
from autoreward.training.shipping import Shipment, pack, unpack

INSTALL_HINT = "--backend ray needs Ray, which is not installed here: pip install 'autoreward[ray]'"
ATTEMPTS = 2  # a worker that dies is retried once
DRAIN_TIMEOUT_S = 1.0  # the event thread's blocking wait; also how soon it notices ``close``
FLUSH_TIMEOUT_S = 10.0  # how long a finished call waits for its last events to reach ``on_event``
NODE_SCRATCH = "autoreward-ray"

# A test hook, run in the Ray worker on each event of an attempt: (job, attempt number from 1, event) -> None.
Fault = Callable[[TrainJob, int, dict[str, Any]], None]
log = logging.getLogger(__name__)


def import_ray() -> Any:
    """The ``ray`` module, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise AutorewardError(INSTALL_HINT) from None
    return ray


def ray_train_one(config: RunConfig, card: TaskCard, fault: Fault | None = None) -> RayTrainer:
    """A ``train_one`` for ``train_many`` that trains on Ray (joined at ``config.ray_address``, or started here
    with this machine's cores on first use). A card given by path must exist at that path on every node."""
    import_ray()
    return RayTrainer(config.ray_address, config.gpus_per_candidate, fault)


class RayTrainer:
    """Callable like ``train_in_sandbox``; ``slots()`` tells ``train_many`` how many candidates fit at once."""

    hosts_halving = True  # train_many hands it the Halving: the decision is made in an actor the nodes ask

    def __init__(self, address: str | None = None, gpus: float = 0.0, fault: Fault | None = None) -> None:
        self.address = address
        self.gpus = gpus
        self.fault = fault
        self._lock = threading.Lock()
        self._remote: Any = None
        self._pump: _EventPump | None = None
        self._deciders: weakref.WeakKeyDictionary[Halving, Any] = weakref.WeakKeyDictionary()

    def slots(self) -> int:
        """Candidates the cluster can train at once: its CPUs (one each), and its GPUs if candidates ask for some."""
        ray = self._start()
        resources = ray.cluster_resources()
        slots = int(resources.get("CPU", 1))
        if self.gpus:
            slots = min(slots, int(resources.get("GPU", 0) / self.gpus))
        return max(1, slots)

    def __call__(
        self, job: TrainJob, scratch: Path, on_event: EventSink | None = None, halving: Halving | None = None
    ) -> TrainResult:
        ray = self._start()
        assert self._pump is not None
        decider = self._decider(ray, halving) if halving is not None else None
        call = uuid.uuid4().hex
        reasons: list[str] = []
        for attempt in range(1, ATTEMPTS + 1):
            key = f"{call}/{attempt}"
            delivered = self._pump.open(key, on_event)
            try:
                ref = self._remote.remote(
                    job.model_dump(mode="json"), key, attempt, self._pump.queue, self.fault, decider
                )
                shipment = ray.get(ref)
            except ray.exceptions.RayTaskError as err:  # our own code raised on the worker: retrying won't help
                return _failed(job, f"the Ray task failed: {_cause(err)}", str(err))
            except ray.exceptions.RayError as err:  # the worker or its node died
                reasons.append(_first_line(err))
                if attempt < ATTEMPTS and on_event is not None:
                    on_event({"event": "warning", "message": f"Ray worker died ({reasons[-1]}); retrying once"})
                continue
            else:
                delivered.wait(FLUSH_TIMEOUT_S)  # the "finished" event reaches the live table before the result
                return unpack(shipment, scratch, on_event)
            finally:
                self._pump.close(key)
        return _failed(job, f"worker died twice: {' / '.join(reasons)}")

    def _decider(self, ray: Any, halving: Halving) -> Any:
        """One actor per iteration's ``Halving``, started with its configuration and the earlier results."""
        with self._lock:
            actor = self._deciders.get(halving)
            if actor is None:
                actor = ray.remote(Halving).options(num_cpus=0).remote(halving.config, halving.earlier)
                self._deciders[halving] = actor
            return actor

    def close(self) -> None:
        """Stop the event thread and its queue; the Ray session itself is left as it is."""
        with self._lock:
            if self._pump is not None:
                self._pump.stop()
                self._pump = None
                self._remote = None

    def _start(self) -> Any:
        ray = import_ray()
        with self._lock:
            if self._remote is None:
                if not ray.is_initialized():
                    _init(ray, self.address)
                self._remote = ray.remote(_train_on_node).options(num_cpus=1, num_gpus=self.gpus, max_retries=0)
                self._pump = _EventPump()
                # Before Ray's own exit handler (registered earlier, run later): a thread still waiting on the
                # queue when Ray shuts down makes Ray end the process with exit code 1.
                atexit.register(self.close)
        return ray


def _init(ray: Any, address: str | None) -> None:
    """Join the cluster at ``address``, or start a local one with this machine's cores."""
    from autoreward.machine import cores

    quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
    try:
        if address:
            ray.init(address=address, **quiet)
        else:
            ray.init(num_cpus=cores(), include_dashboard=False, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as err:
        where = f"join the Ray cluster at {address}" if address else "start a local Ray"
        raise AutorewardError(f"cannot {where}: {_first_line(err)}") from None


def _train_on_node(
    job_data: dict[str, Any], key: str, attempt: int, queue: Any, fault: Fault | None, decider: Any = None
) -> Shipment:
    """Runs in the Ray worker: the sandboxed training in a node-local scratch directory, its files packed; with a
    halving ``decider`` (an actor), each rung's program-free value is put to it and a cut candidate's worker is
    asked to stop."""
    import ray

    from autoreward.training.rungs import RungJudge
    from autoreward.training.sandboxed import train_in_sandbox

    job = TrainJob.model_validate(job_data)
    root = Path(tempfile.gettempdir()) / NODE_SCRATCH
    _sweep(root)
    call_dir = root / f"{os.getpid()}-{key.replace('/', '-')}"
    scratch = call_dir / "scratch"
    scratch.mkdir(parents=True)

    def emit(event: dict[str, Any]) -> None:
        if fault is not None:
            fault(job, attempt, event)
        _put(queue, (key, event))

    judge = RungJudge(job, scratch, emit, _ActorDecider(ray, decider) if decider is not None else None)
    try:
        return pack(judge.finish(train_in_sandbox(judge.job, scratch, judge)), scratch)
    finally:
        _put(queue, (key, None))  # "no more events from this attempt"
        shutil.rmtree(call_dir, ignore_errors=True)


class _ActorDecider:
    """The halving actor's decisions, asked from a node's trainer (the ``Decider`` a sink expects)."""

    def __init__(self, ray: Any, actor: Any) -> None:
        self._ray, self._actor = ray, actor

    def report(self, candidate_id: str, rung: int, value: float) -> bool:
        return bool(self._ray.get(self._actor.report.remote(candidate_id, rung, value)))

    def recheck(self, candidate_id: str) -> bool:
        return bool(self._ray.get(self._actor.recheck.remote(candidate_id)))


def _sweep(root: Path) -> None:
    """Remove what Ray workers that were killed (no ``finally`` ran) left on this node: each directory is named
    after the worker process that made it."""
    if not root.is_dir():
        return
    for path in root.iterdir():
        pid = path.name.partition("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _put(queue: Any, item: tuple[str, dict[str, Any] | None]) -> None:
    try:
        queue.put(item)
    except Exception as err:  # events only feed the live view: a lost one must never fail a training
        log.warning("a progress event was lost: %s", _first_line(err))


class _EventPump:
    """Moves ``(key, event)`` pairs from a Ray queue to each open key's sink, on one daemon thread.

    ``(key, None)`` closes an attempt's stream: ``open``'s threading.Event is set then."""

    def __init__(self) -> None:
        from ray.util.queue import Queue

        self.queue = Queue(actor_options={"num_cpus": 0})
        self._sinks: dict[str, tuple[EventSink | None, threading.Event]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._drain, name="ray-events", daemon=True)
        self._thread.start()

    def open(self, key: str, sink: EventSink | None) -> threading.Event:
        done = threading.Event()
        with self._lock:
            self._sinks[key] = (sink, done)
        return done

    def close(self, key: str) -> None:
        with self._lock:
            self._sinks.pop(key, None)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=DRAIN_TIMEOUT_S * 5)
        try:
            self.queue.shutdown()
        except Exception as err:  # Ray may already be down
            log.debug("event queue shutdown: %s", err)

    def _drain(self) -> None:
        from ray.util.queue import Empty

        while not self._stopping.is_set():
            try:
                key, event = self.queue.get(timeout=DRAIN_TIMEOUT_S)
            except Empty:
                continue
            except Exception as err:  # Ray shut down under us: nothing more will come
                if not self._stopping.is_set():
                    log.warning("Ray progress events stopped: %s", _first_line(err))
                return
            with self._lock:
                sink, done = self._sinks.get(key, (None, None))
            if done is None:
                continue  # a call that already returned (or an attempt that died)
            if event is None:
                done.set()
            elif sink is not None:
                try:
                    sink(event)
                except Exception:
                    log.exception("an on_event handler failed")


def _failed(job: TrainJob, error: str, detail: str = "") -> TrainResult:
    return TrainResult(
        candidate_id=job.candidate_id, task=job.task, status="failed", failure="internal", error=error,
        traceback=detail[-4000:] or None,
    )  # fmt: skip


def _cause(err: BaseException) -> str:
    """What made a Ray task fail: the exception raised in the task (not Ray's wrapper line), whole but capped."""
    cause = getattr(err, "cause", None)
    cause = cause if isinstance(cause, BaseException) else err
    text = str(cause).strip() or type(cause).__name__
    return f"{type(cause).__name__}: {text}"[:2000]


def _first_line(err: BaseException) -> str:
    return f"{type(err).__name__}: {first_line(err)}"[:300]
