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

# numpy and math compute; the rest are the standard library's harmless helpers that models habitually import.
ALLOWED_IMPORTS = frozenset(
    {"numpy", "math", "__future__", "typing", "dataclasses", "functools", "itertools", "collections", "enum",
     "operator", "abc"}
)  # fmt: skip

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

# Frame, generator, coroutine, traceback and code-object internals: from them a program reaches the frames that
# call it (the checker's or the trainer's) and their globals.
INTROSPECTION_ATTRS = frozenset(
    {"gi_frame", "gi_code", "gi_yieldfrom", "gi_running", "gi_suspended", "cr_frame", "cr_code", "cr_await",
     "cr_origin", "cr_running", "ag_frame", "ag_code", "ag_await", "ag_running", "f_back", "f_builtins",
     "f_globals", "f_locals", "f_code", "f_trace", "f_lasti", "f_lineno", "tb_frame", "tb_next", "tb_lasti",
     "tb_lineno", "co_code", "co_consts", "co_names", "co_varnames", "func_globals", "func_code",
     "with_traceback"}
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
    reasons += _check_definitions(tree)
    func = _compute_reward(tree)
    if func is None:
        reasons.append(_error("the program defines no top-level function compute_reward(prev, action, state)"))
    else:
        reasons += _check_signature(func)
        reasons += _check_placeholders(func)
        reasons += _check_reads_state(func, fields)
        if fields is not None:
            reasons += _check_fields(func, fields)
    return sorted(reasons, key=lambda r: r.line or 0)


def _error(message: str, line: int | None = None) -> Reason:
    return Reason(stage="static", severity="error", message=message, line=line)


def _check_imports(tree: ast.Module) -> Iterator[Reason]:
    helpers = ", ".join(sorted(ALLOWED_IMPORTS - {"numpy", "math", "__future__"}))
    allowed = f"only numpy, math and the standard library's {helpers} may be imported"
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
    allowed = _main_guard_nodes(tree) | _own_private_attributes(tree)
    for node in ast.walk(tree):
        if id(node) in allowed:
            continue
        if isinstance(node, ast.Attribute) and node.attr in INTROSPECTION_ATTRS:
            yield _error(f".{node.attr}: {_INTROSPECTION}", node.lineno)
        elif isinstance(node, ast.Attribute) and (node.attr.startswith("_") or node.attr in FORBIDDEN_ATTRS):
            yield _error(f".{node.attr}: {_why_attr(node.attr)}", node.lineno)
        elif isinstance(node, ast.Name):
            if node.id in FORBIDDEN_CALLS:
                yield _error(f"{node.id!r} is not allowed: a reward program only computes with numbers", node.lineno)
            elif node.id.startswith("__"):
                yield _error(f"name {node.id!r}: {_why_attr(node.id)}", node.lineno)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if "__" in node.value:
                yield _error(
                    "a string naming a dunder ('__...'): format strings and lookups reach internals", node.lineno
                )
            elif node.value in INTROSPECTION_ATTRS:
                yield _error(f"the string {node.value!r} names an interpreter internal: {_INTROSPECTION}", node.lineno)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            yield _error("global/nonlocal state: compute_reward must be a pure function of its arguments", node.lineno)


_INTROSPECTION = "frame, generator and traceback internals are off limits; a reward program only computes with numbers"


def _main_guard_nodes(tree: ast.Module) -> set[int]:
    """The ``__name__`` and ``"__main__"`` of top-level ``if __name__ == "__main__":`` tests (their bodies are
    still checked; the loop never runs them)."""
    out: set[int] = set()
    for node in tree.body:
        test = node.test if isinstance(node, ast.If) else None
        if (
            isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name)
            and test.left.id == "__name__"
            and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq)
            and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value == "__main__"
        ):
            out |= {id(test.left), id(test.comparators[0])}
    return out


def _own_private_attributes(tree: ast.Module) -> set[int]:
    """``self._x`` inside a class's methods (the instance's own single-underscore attributes), where the method
    never rebinds ``self``."""
    out: set[int] = set()
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        for method in (n for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)):
            params = [*method.args.posonlyargs, *method.args.args]
            if not params:
                continue
            me = params[0].arg
            nodes = list(ast.walk(method))
            if any(isinstance(n, ast.Name) and n.id == me and not isinstance(n.ctx, ast.Load) for n in nodes):
                continue
            out |= {
                id(n)
                for n in nodes
                if isinstance(n, ast.Attribute)
                and isinstance(n.value, ast.Name)
                and n.value.id == me
                and n.attr.startswith("_")
                and not n.attr.startswith("__")
            }
    return out


def _check_definitions(tree: ast.Module) -> Iterator[Reason]:
    """No dunder methods but ``__init__`` (they hook the interpreter's protocols), no metaclasses, and no
    assignment to an attribute of an imported module (``math.isfinite = ...`` rewires the code that checks)."""
    modules = _imported_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if node.name.startswith("__") and node.name.endswith("__") and node.name != "__init__":
                yield _error(
                    f"method {node.name!r}: dunder methods other than __init__ hook the interpreter; "
                    "write a plain method",
                    node.lineno,
                )
        elif isinstance(node, ast.ClassDef) and node.keywords:
            yield _error("class keywords (metaclass=...) are off limits: write a plain class", node.lineno)
        elif isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in modules:
                yield _error(
                    f"assignment to {ast.unparse(node)}: a program may not change an imported module; use a local name",
                    node.lineno,
                )


def _imported_names(tree: ast.Module) -> set[str]:
    """Names that an import binds anywhere in the program (``import numpy as np`` binds ``np``)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names |= {a.asname or a.name for a in node.names}
    return names


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


def _check_placeholders(func: ast.FunctionDef) -> Iterator[Reason]:
    """The skeleton's ``...`` left unfilled (small models copy it back): named as such, so a re-sample fills it.
    An index such as ``state.obs[..., 0]`` is numpy's, not a placeholder."""
    indices = {id(n) for sub in ast.walk(func) if isinstance(sub, ast.Subscript) for n in ast.walk(sub.slice)}
    for node in ast.walk(func):
        if isinstance(node, ast.Constant) and node.value is Ellipsis and id(node) not in indices:
            yield _error(
                f"line {node.lineno} still holds the skeleton's placeholder `...`: replace it by an expression over "
                "State fields (e.g. state.<field> and prev.<field>)",
                node.lineno,
            )
            return


def _check_reads_state(func: ast.FunctionDef, fields: Fields | None) -> Iterator[Reason]:
    """A reward that never looks at ``prev`` or ``state`` (only the action or constants) trains nothing."""
    positional = [*func.args.posonlyargs, *func.args.args]
    if len(positional) < 3 or func.args.vararg is not None:
        return
    views = {positional[0].arg, positional[2].arg}
    if any(isinstance(n, ast.Name) and n.id in views for n in ast.walk(func)):
        return
    examples = [f"state.{name}" for name in list(fields or ())[1:4]] or ["state.<field>"]
    yield _error(
        f"compute_reward never reads {positional[2].arg} or {positional[0].arg}: a reward of the action or "
        f"constants alone does not say what the task is; reward State fields such as {', '.join(examples)} "
        "(the fields are listed in the environment description)",
        func.lineno,
    )


def _check_fields(func: ast.FunctionDef, fields: Fields) -> Iterator[Reason]:
    """``state.<name>``, ``state["<name>"]`` (and ``prev``'s) must be fields of this task's State, and mapping
    keys must exist."""
    positional = [*func.args.posonlyargs, *func.args.args]
    if len(positional) < 3:
        return
    views = {positional[0].arg, positional[2].arg}
    for node in ast.walk(func):
        name = _field_read(node, views)
        if name is not None and name not in fields and not name.startswith("_"):
            yield _error(f"State has no field {name!r}{_did_you_mean(name, list(fields))}", node.lineno)
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            key, field = node.slice.value, _field_read(node.value, views)
            keys = (fields.get(field) or ()) if field is not None else ()
            if keys and key not in keys:
                yield _error(f"{field} has no entry {key!r}{_did_you_mean(key, list(keys))}", node.lineno)


def _field_read(node: ast.AST, views: set[str]) -> str | None:
    """The field name if ``node`` is ``state.<name>`` or ``state["<name>"]`` (``prev`` likewise), else None."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in views:
        return node.attr
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and node.value.id in views
        and isinstance(node.slice, ast.Constant)
        and isinstance(node.slice.value, str)
    ):
        return node.slice.value
    return None


def _did_you_mean(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=2, cutoff=0.5)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
