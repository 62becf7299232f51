"""Load a reward program from its source text, and say which of ITS lines broke when it fails in training.

The program is compiled under the filename ``<reward>`` into a fresh namespace. That is only safe because this
runs inside the sandboxed worker; the filename lets a traceback be mapped back to the program's own lines.
"""

from __future__ import annotations

import builtins
import linecache
import math
import sys
import traceback
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

import numpy as np

from autoreward.envs.wrapper import RewardFn
from autoreward.errors import AutorewardError

FILENAME = "<reward>"


class RewardProgramError(AutorewardError):
    """The reward program raised, or returned a non-finite or malformed value, while the policy trained."""

    def __init__(self, message: str, line: int | None = None, step: int | None = None) -> None:
        where = f" at line {line} of the reward program" if line is not None else ""
        when = f" (training step {step})" if step is not None else ""
        super().__init__(f"{message}{where}{when}")
        self.reason = message
        self.line = line
        self.step = step


def load_reward(source: str) -> RewardFn:
    """``compute_reward`` from ``source``; syntax errors and a missing function carry the program's line."""
    linecache.cache[FILENAME] = (len(source), None, source.splitlines(keepends=True), FILENAME)
    try:
        code = compile(source, FILENAME, "exec")
    except SyntaxError as err:
        raise RewardProgramError(f"SyntaxError: {err.msg}", line=err.lineno) from None
    namespace: dict[str, Any] = {"__name__": "autoreward_reward", "__builtins__": builtins}
    try:
        exec(code, namespace)
    except Exception as err:
        raise RewardProgramError(f"{type(err).__name__} while loading: {err}", line=program_line(err)) from None
    fn = namespace.get("compute_reward")
    if not callable(fn):
        raise RewardProgramError("the program defines no function compute_reward(prev, action, state)")
    return fn


def program_line(err: BaseException) -> int | None:
    """The innermost line of the reward program in ``err``'s traceback, if the program is in it."""
    tb: TracebackType | None = err.__traceback__
    line = None
    for frame, lineno in traceback.walk_tb(tb):
        if frame.f_code.co_filename == FILENAME:
            line = lineno
    return line


def _nonfinite(value: Any) -> bool:
    if isinstance(value, float | int | np.floating | np.integer):
        return not math.isfinite(float(value))
    if isinstance(value, np.ndarray) and value.dtype.kind in "fc":
        return not bool(np.all(np.isfinite(value)))
    return False


def locate_nonfinite(fn: RewardFn, *args: Any) -> int | None:
    """Re-run ``fn`` under a line tracer and return the program line that first produced a NaN or inf.

    Only called after a failure, so tracing costs nothing during training.
    """
    found: list[int] = []
    seen: set[str] = set()

    def local_trace(frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        if found:
            return None
        bad = {k for k, v in frame.f_locals.items() if k not in seen and _nonfinite(v)}
        if bad and last_line:
            found.append(last_line[-1])
        seen.update(bad)
        if event == "return" and not found and last_line:
            found.append(last_line[-1])
        if event == "line":
            last_line.append(frame.f_lineno)
        return local_trace

    last_line: list[int] = []

    def global_trace(frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        return local_trace if frame.f_code.co_filename == FILENAME else None

    previous = sys.gettrace()
    sys.settrace(global_trace)
    try:
        fn(*args)
    except Exception:
        pass
    finally:
        sys.settrace(previous)
    return found[0] if found else None
