"""Critic stage 1: read the program's syntax tree, without running it, and reject what is broken or unsafe.

Cheap and explainable: every reason names the program's line and what to write instead. It is not the sandbox
(numpy alone offers ways around any list of names, see FACTS); it spares the dry run the obvious cases and
tells the Designer why in plain words.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterator, Mapping, Sequence

from autoreward.critic.verdict import Reason
from autoreward.reward import RewardProgramError, parse_program

ALLOWED_IMPORTS = frozenset({"numpy", "math", "__future__"})

FORBIDDEN_CALLS = frozenset(
    {"open", "exec", "eval", "compile", "__import__", "globals", "locals", "vars", "getattr", "setattr",
     "delattr", "input", "breakpoint", "memoryview", "help", "exit", "quit", "dir"}
)  # fmt: skip

# numpy's file, process and foreign-code APIs, and module names reachable through numpy's submodules.
FORBIDDEN_ATTRS = frozenset(
    {"save", "savez", "savez_compressed", "savetxt", "load", "loadtxt", "genfromtxt", "fromfile", "fromregex",
     "memmap", "open_memmap", "tofile", "dump", "dumps", "ctypeslib", "ctypes", "lib", "DataSource", "f2py",
     "distutils", "testing", "core", "rec", "show_config", "show_runtime", "info", "source", "test",
     "os", "sys", "subprocess", "builtins", "importlib", "shutil", "socket", "pickle", "tempfile", "platform",
     "io", "pathlib", "urllib", "gc", "inspect", "warnings", "types", "fileinput", "codecs"}
)  # fmt: skip

Fields = Mapping[str, Sequence[str]]  # field name -> its keys ("" entries or empty for plain fields)


def static_check(source: str, fields: Fields | None = None) -> list[Reason]:
    """All static reasons against ``source``; ``fields`` (the task's State) enables the field-name check."""
    try:
        tree = parse_program(source)
    except RewardProgramError as err:
        return [_error(err.reason, err.line)]
    reasons = list(_check_imports(tree))
    reasons += _check_names(tree)
    func = _compute_reward(tree)
    if func is None:
        reasons.append(_error("the program defines no top-level function compute_reward(prev, action, state)"))
    else:
        reasons += _check_signature(func)
        if fields is not None:
            reasons += _check_fields(func, fields)
    return sorted(reasons, key=lambda r: r.line or 0)


def _error(message: str, line: int | None = None) -> Reason:
    return Reason(stage="static", severity="error", message=message, line=line)


def _check_imports(tree: ast.Module) -> Iterator[Reason]:
    allowed = "only numpy and math may be imported"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.split(".")[0]
                if root not in ALLOWED_IMPORTS:
                    yield _error(f"import of {alias.name!r}: {allowed}", node.lineno)
                elif set(alias.name.split(".")[1:]) & FORBIDDEN_ATTRS:
                    yield _error(
                        f"import of {alias.name!r}: numpy's file and system modules are off limits", node.lineno
                    )
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level or module.split(".")[0] not in ALLOWED_IMPORTS:
                yield _error(f"import from {module or '.'!r}: {allowed}", node.lineno)
                continue
            for alias in node.names:
                if alias.name == "*":
                    yield _error(f"'from {module} import *' hides which names are used; import the module", node.lineno)
                elif alias.name in FORBIDDEN_ATTRS or alias.name.startswith("_"):
                    yield _error(f"'from {module} import {alias.name}': {_why_attr(alias.name)}", node.lineno)


def _why_attr(name: str) -> str:
    if name.startswith("__") and name.endswith("__"):
        return f"dunder attribute {name!r} is off limits (it reaches the interpreter's internals)"
    if name.startswith("_"):
        return f"private attribute {name!r} is off limits (private modules reach os and the file system)"
    return f"{name!r} is a file, process or foreign-code API; a reward program only computes with numbers"


def _check_names(tree: ast.Module) -> Iterator[Reason]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and (node.attr.startswith("_") or node.attr in FORBIDDEN_ATTRS):
            yield _error(f".{node.attr}: {_why_attr(node.attr)}", node.lineno)
        elif isinstance(node, ast.Name):
            if node.id in FORBIDDEN_CALLS:
                yield _error(f"{node.id!r} is not allowed: a reward program only computes with numbers", node.lineno)
            elif node.id.startswith("__"):
                yield _error(f"name {node.id!r}: {_why_attr(node.id)}", node.lineno)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "__" in node.value:
            yield _error("a string naming a dunder ('__...'): format strings and lookups reach internals", node.lineno)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            yield _error("global/nonlocal state: compute_reward must be a pure function of its arguments", node.lineno)


def _compute_reward(tree: ast.Module) -> ast.FunctionDef | None:
    found = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "compute_reward"]
    return found[-1] if found else None


def _check_signature(func: ast.FunctionDef) -> Iterator[Reason]:
    args = func.args
    positional = [*args.posonlyargs, *args.args]
    required = len(positional) - len(args.defaults)
    if args.vararg is None and (len(positional) < 3 or required > 3):
        names = ", ".join(a.arg for a in positional) or "nothing"
        yield _error(
            f"compute_reward takes ({names}); the contract is compute_reward(prev, action, state)", func.lineno
        )
    if any(d is None for d in args.kw_defaults) and args.kwonlyargs:
        yield _error("compute_reward has required keyword-only arguments; it is called with three", func.lineno)
    returns = [n for n in ast.walk(func) if isinstance(n, ast.Return)]
    if not any(r.value is not None for r in returns):
        yield _error("compute_reward returns nothing; it must return (total, components)", func.lineno)


def _check_fields(func: ast.FunctionDef, fields: Fields) -> Iterator[Reason]:
    """``state.<name>`` and ``prev.<name>`` must be fields of this task's State, and mapping keys must exist."""
    positional = [*func.args.posonlyargs, *func.args.args]
    if len(positional) < 3:
        return
    views = {positional[0].arg, positional[2].arg}
    for node in ast.walk(func):
        if _reads_view(node, views) and node.attr not in fields and not node.attr.startswith("_"):  # type: ignore[attr-defined]
            name = node.attr  # type: ignore[attr-defined]
            yield _error(f"State has no field {name!r}{_did_you_mean(name, list(fields))}", node.lineno)
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and isinstance(node.value.value, ast.Name)
            and node.value.value.id in views
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            keys = fields.get(node.value.attr) or ()
            if keys and node.slice.value not in keys:
                key, name = node.slice.value, node.value.attr
                yield _error(f"{name} has no entry {key!r}{_did_you_mean(key, list(keys))}", node.lineno)


def _reads_view(node: ast.AST, views: set[str]) -> bool:
    """Whether ``node`` is ``state.<attr>`` or ``prev.<attr>``."""
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in views


def _did_you_mean(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=2, cutoff=0.5)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
