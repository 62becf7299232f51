"""Job kinds the worker can host, and the context a job runs with.

A job is a plain function ``run(ctx: JobContext) -> dict`` in some module, named here by ``"module:function"``
so that the worker imports only what the requested kind needs (a dry run never imports torch). Adding a kind
is one line in ``JOB_KINDS``.

A job prepares everything that needs processes or files of its own (the env, render contexts, anything that
calls ``ctypes.util.find_library``) *before* it calls ``ctx.load_program()``: loading the program installs
the seccomp filter, after which starting a process or opening a network socket kills the worker.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, Field

from autoreward.envs.wrapper import RewardFn
from autoreward.sandbox.limits import Limits

JOB_KINDS: dict[str, str] = {
    "dryrun": "autoreward.critic.dryrun:run_job",
    "dryrun-rollout": "autoreward.critic.rollouts:run_job",
    "train": "autoreward.training.job:run_job",
    "video": "autoreward.training.video:run_job",
}


class Job(BaseModel):
    """One unit of work for a worker: which kind, the program's source, and the kind's own parameters."""

    kind: str
    source: str
    params: dict[str, Any] = Field(default_factory=dict)
    expose: list[Path] = Field(default_factory=list, description="extra paths the worker may read")


class WorkerRequest(BaseModel):
    """What the parent writes to the worker's stdin."""

    job: Job
    limits: Limits
    scratch: Path
    seccomp: bool = True


class UnknownJobKind(LookupError):
    """The requested kind is not registered, or its module is not installed."""


JobFn = Callable[["JobContext"], dict[str, Any]]


def resolve_job(kind: str) -> JobFn:
    """The function that runs ``kind``, imported on demand."""
    target = JOB_KINDS.get(kind)
    if target is None:
        raise UnknownJobKind(f"unknown job kind {kind!r}; known: {', '.join(JOB_KINDS)}")
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise UnknownJobKind(f"job kind {kind!r} needs {module_name}, which is not installed ({err})") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise UnknownJobKind(f"job kind {kind!r}: {module_name} defines no function {attr}(ctx)")
    return fn


class JobContext:
    """What a running job may use: its parameters, its scratch directory, an event stream, and the program."""

    def __init__(
        self,
        job: Job,
        scratch: Path,
        events: IO[str],
        lockdown: Callable[[], None],
        loader: Callable[[str], RewardFn],
    ) -> None:
        self.job = job
        self.params = job.params
        self.scratch = scratch
        self._events = events
        self._lockdown = lockdown
        self._loader = loader

    def emit(self, event: dict[str, Any]) -> None:
        """Send one progress event (a JSON object) to the parent's ``on_event`` while the job runs."""
        self._events.write(json.dumps({"type": "event", "data": event}, default=float) + "\n")
        self._events.flush()

    def load_program(self) -> RewardFn:
        """Lock the process down (seccomp), then compile and exec the program; returns ``compute_reward``."""
        self._lockdown()
        return self._loader(self.job.source)
