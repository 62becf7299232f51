"""The task's true fitness: a per-step expression over the State, reduced over an episode.

Fitness is written by the user or shipped in the catalog, never by the LLM. Every library metric is itself
an expression, so named metrics and a card's own ``{ expr, reduce }`` share one evaluator. Expressions are
trusted (a person wrote them) but still only evaluated where the env runs, never in the CLI.
"""

from __future__ import annotations

import ast
import builtins
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from autoreward.envs.reads import names_in

if TYPE_CHECKING:
    from autoreward.envs.state import State

Reduce = Literal["mean", "sum", "last", "max", "min", "delta"]
REDUCTIONS: tuple[str, ...] = ("mean", "sum", "last", "max", "min", "delta")


@dataclass(frozen=True)
class FitnessSpec:
    """``expr`` is evaluated after every step with ``state``, ``prev``, ``action``, ``reward`` (the env's
    built-in reward) and ``info`` in scope; ``reduce`` folds the values of one episode into one number
    (``delta`` is the last value minus the value right after reset)."""

    expr: str
    reduce: Reduce
    doc: str = ""
    unit: str = ""


METRICS: dict[str, FitnessSpec] = {
    "forward_distance": FitnessSpec("state.x_position", "delta", "distance the robot's root moved along +x", "m"),
    "backward_distance": FitnessSpec("-state.x_position", "delta", "distance the root moved along -x", "m"),
    "forward_velocity": FitnessSpec("state.x_velocity", "mean", "mean forward velocity of the root", "m/s"),
    "com_forward_distance": FitnessSpec(
        "state.com_position[0]", "delta", "distance the centre of mass moved along +x", "m"
    ),
    "episode_return_builtin": FitnessSpec("reward", "sum", "the env's own episode return", ""),
    "episode_length": FitnessSpec("1.0", "sum", "steps survived before termination or the time limit", "steps"),
    "success_rate": FitnessSpec(
        "float(info.get('success', info.get('is_success', 0.0)))", "max",
        "1 if the env reported success at any step of the episode", "",
    ),
}  # fmt: skip

_SAFE_BUILTINS = {
    name: getattr(builtins, name)
    for name in ("abs", "min", "max", "float", "int", "bool", "round", "sum", "len", "any", "all")
}


def check_expression(expr: str) -> str | None:
    """A syntax error in ``expr`` as one sentence, or None when it parses."""
    try:
        ast.parse(expr, mode="eval")
    except SyntaxError as err:
        return f"{err.msg} at column {err.offset}"
    return None


def unknown_fields(expr: str, fields: Iterable[str]) -> list[str]:
    """``state.X`` / ``prev.X`` names in ``expr`` that are not State fields (checked without evaluating)."""
    known = set(fields)
    return sorted(
        {
            node.attr
            for node in ast.walk(ast.parse(expr, mode="eval"))
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("state", "prev")
            and node.attr not in known
        }
    )


def fitness_names(spec: FitnessSpec | None) -> frozenset[str]:
    """The names the fitness expression may read State fields by (``envs/reads.py``); none without a fitness."""
    return names_in(ast.parse(spec.expr, mode="eval")) if spec is not None else frozenset()


def captured_names(spec: FitnessSpec | None, program_names: Iterable[str]) -> frozenset[str]:
    """What a State narrowed for one program keeps: the names its text holds (``autoreward.reward.names_read``)
    and the fitness's, which reads the same States."""
    return frozenset(program_names) | fitness_names(spec)


class EpisodeFitness:
    """Accumulates one episode's fitness step by step; ``result()`` reduces it."""

    def __init__(self, spec: FitnessSpec) -> None:
        self.spec = spec
        self._code = compile(spec.expr, "<fitness>", "eval")
        self._globals = {"__builtins__": _SAFE_BUILTINS, "np": np, "math": math}
        self._first: float | None = None
        self._values: list[float] = []
        self._lazy = spec.reduce in ("last", "delta")  # no per-step cost in training for these
        self._latest: tuple[State, Any, State, float, dict[str, Any]] | None = None

    def _eval(self, prev: State, action: Any, state: State, reward: float, info: dict[str, Any]) -> float:
        scope = {"state": state, "prev": prev, "action": action, "reward": reward, "info": info}
        return float(eval(self._code, self._globals, scope))

    def reset(self, state: State, info: dict[str, Any] | None = None) -> None:
        self._values = []
        self._latest = None
        self._first = None
        if self.spec.reduce == "delta":
            self._first = self._eval(state, None, state, 0.0, info or {})

    def step(self, prev: State, action: Any, state: State, reward: float, info: dict[str, Any]) -> None:
        if self._lazy:  # only the episode's last value counts: evaluate it once, in result()
            self._latest = (prev, action, state, float(reward), info)
            return
        self._values.append(self._eval(prev, action, state, float(reward), info))

    def increment(self, prev: State, action: Any, state: State, reward: float, info: dict[str, Any]) -> float | None:
        """This step's change of the fitness where the reduction has one (sum, mean: the step's value; delta,
        last: the change of the value), else None: what the dry run's direction check compares rewards with."""
        if self.spec.reduce in ("sum", "mean"):
            return self._eval(prev, action, state, float(reward), info)
        if self.spec.reduce in ("delta", "last"):
            now = self._eval(prev, action, state, float(reward), info)
            return now - self._eval(prev, action, prev, float(reward), info)
        return None

    def result(self) -> float:
        if self._lazy:
            if self._latest is None:
                return 0.0
            last = self._eval(*self._latest)
            return last - self._first if self._first is not None else last
        values = self._values
        if not values:
            return 0.0
        return float({"mean": np.mean, "sum": np.sum, "max": np.max, "min": np.min}[self.spec.reduce](values))
