"""Which State fields a piece of code may read, found from its text without running it.

A State narrowed to these names (``StateSpec.narrowed``) copies only what they need each step. The names are a
superset, never a guess: every attribute name and every string constant in the code, so ``state.x``, ``s.x`` in
a helper, ``state["x"]`` and ``getattr(state, "x")`` all count, and so does an ``"x"`` that is only a component's
name (one field captured for nothing). A name built at run time is not seen: reading it raises
``FieldNotCaptured``, in the Critic's dry run as in training, never a silent default.
"""

from __future__ import annotations

import ast


def names_in(tree: ast.AST) -> frozenset[str]:
    """Every attribute name, keyword-argument name and string constant in ``tree``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value)
        elif isinstance(node, ast.keyword) and node.arg is not None:
            names.add(node.arg)
    return frozenset(names)
