"""What a worker runs: a job names its own entry point, and the context a job runs with.

A job is a plain function ``run(ctx: JobContext) -> dict`` in some module, named by the job itself as
``"module:function"`` (resolved as Gymnasium's registration resolves ``entry_point``), so that the worker imports
only what the job needs (a dry run never imports torch) and a new kind of job never edits this layer. The worker
resolves only entry points inside ``ALLOWED_PACKAGES``: a request can never make it import an arbitrary module.

A job prepares everything that needs processes or files of its own (the env, render contexts, anything that
calls ``ctypes.util.find_library``) *before* it calls ``ctx.lock_down()`` or ``ctx.load_program()``:
locking down installs the seccomp filter, after which starting a process or opening a network socket kills the
worker. A job that loads a program gets a watchdog: a call into the program that does not return within
``Job.call_seconds`` ends the job, naming the program's line.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, Field

from autoreward.sandbox.limits import Limits

# Entry points may live only in these packages (a module path: ``autoreward.critic.dryrun``).
ALLOWED_PACKAGES: tuple[str, ...] = ("autoreward",)
_ENTRY_POINT = re.compile(r"^(?P<module>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):(?P<function>[A-Za-z]\w*)$")


class Job(BaseModel):
    """One unit of work for a worker: its entry point, the program's source (if any) and its own parameters."""

    entry_point: str = Field(description='"module:function" of the job, inside ALLOWED_PACKAGES')
    source: str = Field("", description="the reward program's source; empty for a program-free job")
    params: dict[str, Any] = Field(default_factory=dict)
    expose: list[Path] = Field(default_factory=list, description="extra paths the worker may read")
    python_path: list[Path] = Field(
        default_factory=list,
        description="folders the worker imports from, after its own (a user's env module on PYTHONPATH); it reads "
        "only what ``expose`` names in them",
    )
    inputs: list[Path] = Field(default_factory=list, description="files copied into the job's fresh scratch")
    call_seconds: float = Field(10.0, gt=0, description="longest single call into the program")

    @property
    def name(self) -> str:
        """A short name for messages: the entry point's module's last part."""
        return self.entry_point.partition(":")[0].rpartition(".")[2]


class WorkerRequest(BaseModel):
    """What the parent writes to the worker's stdin."""

    job: Job
    limits: Limits
    scratch: Path
    seccomp: bool = True


class UnknownJobKind(LookupError):
    """The job's entry point is malformed, outside the allow-list, or not importable."""


JobFn = Callable[["JobContext"], dict[str, Any]]


def resolve_job(entry_point: str) -> JobFn:
    """The function ``entry_point`` names, imported on demand, if it lies inside ``ALLOWED_PACKAGES``."""
    match = _ENTRY_POINT.match(entry_point)
    if match is None:
        raise UnknownJobKind(f"job entry point {entry_point!r} is not 'module:function'")
    module_name, attr = match["module"], match["function"]
    if module_name.partition(".")[0] not in ALLOWED_PACKAGES:
        raise UnknownJobKind(f"job entry point {entry_point!r} lies outside {', '.join(ALLOWED_PACKAGES)}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise UnknownJobKind(f"job entry point {entry_point!r} needs a module that is not installed ({err})") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise UnknownJobKind(f"job entry point {entry_point!r}: {module_name} defines no function {attr}(ctx)")
    return fn


class JobContext:
    """What a running job may use: its parameters, its scratch directory, an event stream, and the program."""

    def __init__(
        self,
        job: Job,
        scratch: Path,
        events: IO[str],
        lockdown: Callable[[], None],
        loader: Callable[[str], Any],
        watch: Callable[[], None],
    ) -> None:
        self.job = job
        self.params = job.params
        self.scratch = scratch
        self._events = events
        self._lockdown = lockdown
        self._loader = loader
        self._watch = watch
        self._locked = False

    def emit(self, event: dict[str, Any]) -> None:
        """Send one progress event (a JSON object) to the parent's ``on_event`` while the job runs."""
        self._events.write(json.dumps({"type": "event", "data": event}, default=float) + "\n")
        self._events.flush()

    def lock_down(self) -> None:
        """Install the seccomp filter (once): from here on, no process creation, exec or network."""
        if not self._locked:
            self._lockdown()
            self._locked = True

    def load_program(self) -> Any:
        """Lock down, start the per-call watchdog, then compile and exec the program; returns ``compute_reward``."""
        self.lock_down()
        self._watch()
        return self._loader(self.job.source)
