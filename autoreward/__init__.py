"""autoreward: an LLM writes the reward program, autoreward checks, trains, judges and improves it.

The public API (``autoreward.run``, ``check``, ``describe``, ``tasks``, ``load_run``, ``RewardWrapper``, ...) is
imported on first use, so ``import autoreward`` stays instant and ``autoreward.tasks()`` needs neither torch nor
litellm.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from autoreward.errors import AutorewardError, TaskError

if TYPE_CHECKING:
    from autoreward.api import (
        RewardWrapper,
        RunResult,
        StoredRun,
        check,
        describe,
        export,
        load_run,
        plan,
        resume,
        run,
        tasks,
    )
    from autoreward.critic.verdict import Reason, Verdict
    from autoreward.loop import WaitingForPreference
    from autoreward.observer import LoopObserver
    from autoreward.tasks import TaskCard

from autoreward._layout import map_source_tree

__version__ = "0.1.0"
__all__ = [
    "AutorewardError",
    "LoopObserver",
    "Reason",
    "RewardWrapper",
    "RunResult",
    "StoredRun",
    "TaskCard",
    "TaskError",
    "Verdict",
    "WaitingForPreference",
    "check",
    "describe",
    "export",
    "load_run",
    "plan",
    "resume",
    "run",
    "tasks",
]

# public name -> the module that defines it (imported when the name is first used)
_HOMES = {
    **dict.fromkeys(
        (
            "RewardWrapper",
            "RunResult",
            "StoredRun",
            "check",
            "describe",
            "export",
            "load_run",
            "plan",
            "resume",
            "run",
            "tasks",
        ),
        "autoreward.api",
    ),
    "Reason": "autoreward.critic.verdict",
    "Verdict": "autoreward.critic.verdict",
    "WaitingForPreference": "autoreward.loop",
    "LoopObserver": "autoreward.observer",
    "TaskCard": "autoreward.tasks",
}


class _Package(types.ModuleType):
    """The package's module: loading the submodules ``autoreward.tasks``, ``.describe`` and ``.export`` would
    bind their names here, hiding the API functions of those names; the functions keep them (the submodules stay
    importable by their full names)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _HOMES and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'autoreward' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])


map_source_tree()
