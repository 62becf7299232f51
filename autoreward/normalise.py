"""When two reward programs are the same program: a key from the normalised syntax tree.

A cheap model often writes one program several times, or returns the program it was asked to improve. Those are
trained once. Two programs get the same key when they differ only in
- formatting, comments and docstrings (the tree is re-printed by ``ast.unparse``);
- the names of locals, parameters and helper functions (renamed ``v0, v1, ...`` by first binding);
- the names of components (string keys of dict literals, renamed ``k0, k1, ...``): labels do not change the sum;
- constant arithmetic (``0.1 * 10`` is ``1.0``): numeric operations whose operands are all literals are folded.
Anything else (term order, algebra such as ``a - b`` against ``-(b - a)``) makes a different key: training a
rare equivalent twice costs less than merging two different rewards. Such equivalents are caught after the
dry run instead, by the numbers they pay (``autoreward.critic.behaviour``).
"""

from __future__ import annotations

import ast
import hashlib
import operator
from typing import Any

_KEPT = frozenset({"compute_reward"})  # the contract's name is not a local
_FOLD: dict[type, Any] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
    ast.USub: operator.neg, ast.UAdd: operator.pos,
}  # fmt: skip


def _number(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


class _Normaliser(ast.NodeTransformer):
    def __init__(self, bound: list[str], keys: list[str]) -> None:
        self.names = {name: f"v{i}" for i, name in enumerate(bound)}
        self.keys = {key: f"k{i}" for i, key in enumerate(keys)}

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return ast.copy_location(ast.Name(id=self.names.get(node.id, node.id), ctx=node.ctx), node)

    def visit_arg(self, node: ast.arg) -> ast.AST:
        return ast.copy_location(ast.arg(arg=self.names.get(node.arg, node.arg)), node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.name = self.names.get(node.name, node.name)
        node.returns = None
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            node.body = body[1:] or [ast.Pass()]  # a docstring is a comment
        self.generic_visit(node)
        return node

    def visit_Dict(self, node: ast.Dict) -> ast.AST:
        self.generic_visit(node)
        node.keys = [
            ast.Constant(self.keys[k.value]) if isinstance(k, ast.Constant) and k.value in self.keys else k
            for k in node.keys
        ]
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        return _fold(node, [node.left, node.right])

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        return _fold(node, [node.operand])


def _fold(node: ast.BinOp | ast.UnaryOp, operands: list[ast.expr]) -> ast.AST:
    """``node`` as one literal when its operator is arithmetic and all its operands are numeric literals."""
    op = _FOLD.get(type(node.op))
    if op is None or not all(_number(x) for x in operands):
        return node
    values = [x.value for x in operands]  # type: ignore[attr-defined]
    if op is operator.pow and (abs(values[0]) > 1e3 or abs(values[1]) > 64):
        return node  # the program is untrusted: never compute a huge power in the CLI's process
    try:
        value = op(*values)
    except (ArithmeticError, ValueError):
        return node
    if not isinstance(value, (int, float)) or abs(value) > 1e12:
        return node  # no complex results and no huge powers in a key
    return ast.copy_location(ast.Constant(float(value)), node)


def _bound_names(tree: ast.AST) -> list[str]:
    """Names the program binds (assignments, loop and comprehension targets, parameters, helper functions), in
    the order they first appear."""
    seen: dict[str, None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            seen.setdefault(node.id)
        elif isinstance(node, ast.arg):
            seen.setdefault(node.arg)
        elif isinstance(node, ast.FunctionDef) and node.name not in _KEPT:
            seen.setdefault(node.name)
    return list(seen)


def _dict_keys(tree: ast.AST) -> list[str]:
    seen: dict[str, None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key in node.keys:
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    seen.setdefault(key.value)
    return list(seen)


def normalised(source: str) -> str | None:
    """The program re-printed in normal form; None when it does not parse (it then matches nothing)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if tree.body and isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Constant):
        tree.body = tree.body[1:]  # the module docstring
    tree = _Normaliser(_bound_names(tree), _dict_keys(tree)).visit(tree)
    try:
        return ast.unparse(ast.fix_missing_locations(tree))
    except (RecursionError, ValueError):
        return None


def program_key(source: str) -> str | None:
    """A short key equal for programs that are the same after normalisation; None for unparsable text."""
    text = normalised(source)
    return hashlib.sha256(text.encode()).hexdigest()[:16] if text is not None else None
