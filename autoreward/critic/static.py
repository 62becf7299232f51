"""Critic stage 1: read the program's syntax tree, without running it, and reject what is broken or unsafe.

Cheap and explainable: every reason names the program's line and what to write instead. Its safety rules are
the reward program's allow-list (``autoreward.reward.allowlist``), which every loader outside the sandbox
checks again before the program runs; the rest (signature, placeholders, State fields) spares the dry run the
obvious mistakes and tells the Designer why in plain words.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterator, Mapping, Sequence

from autoreward.critic.verdict import Reason
from autoreward.reward import RewardProgramError, allowlist, parse_program

Fields = Mapping[str, Sequence[str]]  # field name -> its keys ("" entries or empty for plain fields)


def static_check(source: str, fields: Fields | None = None) -> list[Reason]:
    """All static reasons against ``source``; ``fields`` (the task's State) enables the field-name checks."""
    try:
        tree = parse_program(source)
    except RewardProgramError as err:
        return [_error(err.reason, err.line)]
    reasons = [_error(message, line) for line, message in allowlist.problems(tree)]
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
