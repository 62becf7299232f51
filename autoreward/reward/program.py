"""A reward program's text: parsing it safely, loading it, and mapping a failure back to one of its lines.

Programs are compiled under the filename ``<reward>`` into a fresh namespace. Loading is only safe inside the
sandboxed worker; parsing (``parse_program``) is safe anywhere, and bounded: a program is at most
``MAX_SOURCE_CHARS`` long and ``MAX_DEPTH`` levels deep, so a hostile text cannot crash the parser.
"""

from __future__ import annotations

import ast
import builtins
import linecache
import math
import sys
import traceback
import types
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

import numpy as np

from autoreward.envs.reads import names_in
from autoreward.envs.wrapper import RewardFn
from autoreward.errors import AutorewardError

FILENAME = "<reward>"
MAX_SOURCE_CHARS = 200_000
MAX_DEPTH = 100  # syntax-tree levels; real reward programs stay under 30
MODULE_NAME = "autoreward_reward"  # the program's __name__: an ``if __name__ == "__main__":`` block never runs


class RewardProgramError(AutorewardError):
    """The reward program does not parse or load, raised, or returned a value outside the contract."""

    def __init__(self, message: str, line: int | None = None, step: int | None = None) -> None:
        where = f" at line {line} of the reward program" if line is not None else ""
        when = f" (training step {step})" if step is not None else ""
        super().__init__(f"{message}{where}{when}")
        self.reason = message
        self.line = line
        self.step = step


def parse_program(source: str) -> ast.Module:
    """The syntax tree of ``source``; any text the parser cannot take (too long, too deep, not Python) raises
    RewardProgramError with one line saying why, never RecursionError or MemoryError."""
    if len(source) > MAX_SOURCE_CHARS:
        raise RewardProgramError(
            f"the program is {len(source)} characters long, over the limit of {MAX_SOURCE_CHARS}: a reward "
            "program is a short function"
        )
    try:
        tree = ast.parse(source, filename=FILENAME)
    except SyntaxError as err:
        raise RewardProgramError(f"the program does not parse: {err.msg}", line=err.lineno) from None
    except (RecursionError, MemoryError, ValueError) as err:
        raise RewardProgramError(
            f"the program is too deeply nested or too large to parse ({type(err).__name__}): split long "
            "expressions into named steps"
        ) from None
    deep = _too_deep(tree)
    if deep is not None:
        raise RewardProgramError(
            f"the program nests expressions more than {MAX_DEPTH} levels deep: split them into named steps",
            line=deep or None,
        )
    return tree


def names_read(source: str) -> frozenset[str]:
    """The names ``source`` may read State fields by (``envs/reads.py``): a State narrowed to them serves it."""
    return names_in(parse_program(source))


def _too_deep(tree: ast.AST) -> int | None:
    """The line of the first node deeper than MAX_DEPTH (0 if it has none), or None; iterative, so no
    recursion limit to hit."""
    stack = [(tree, 0, 0)]
    while stack:
        node, depth, line = stack.pop()
        line = getattr(node, "lineno", line)
        if depth > MAX_DEPTH:
            return line
        stack.extend((child, depth + 1, line) for child in ast.iter_child_nodes(node))
    return None


def load_reward(source: str) -> RewardFn:
    """``compute_reward`` from ``source``; syntax errors and a missing function carry the program's line."""
    tree = parse_program(source)
    linecache.cache[FILENAME] = (len(source), None, source.splitlines(keepends=True), FILENAME)
    try:
        code = compile(tree, FILENAME, "exec")
    except (SyntaxError, RecursionError, MemoryError) as err:
        raise RewardProgramError(f"{type(err).__name__} while compiling", line=getattr(err, "lineno", None)) from None
    # A real module in sys.modules, as for an import: dataclasses and typing look their class's module up there.
    module = types.ModuleType(MODULE_NAME)
    module.__dict__["__builtins__"] = builtins
    sys.modules[MODULE_NAME] = module
    namespace = module.__dict__
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


def error_line(err: BaseException) -> int | None:
    """``err.line`` where the error carries one (RewardProgramError), else its traceback's program line."""
    line = getattr(err, "line", None)
    return line if isinstance(line, int) else program_line(err)


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
