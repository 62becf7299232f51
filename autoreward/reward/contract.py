"""The reward program's output contract, and the one conversion of what it returns into numbers.

``compute_reward`` returns ``(total, components)``: a real scalar total (Python or numpy: int, bool, float,
np.float32, a 0-d array) and a dict of identifier names to real scalars that sum to the total, all finite.
The Critic's checker, training's tracking and the exported file apply these same rules. Depends only on numpy
and math, so ``autoreward export`` ships this module verbatim.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

SUM_TOLERANCE = 1e-4  # relative: |sum(components) - total| <= SUM_TOLERANCE * max(1, |total|)
MAX_NAME_CHARS = 64
MAX_KNOWN_NAMES = 4096  # component names remembered as valid; a program inventing names each step pays the check
_known_names: set[str] = set()  # exact ``str`` names that passed ``bad_name`` (a subclass could fake equality)


class ContractError(ValueError):
    """``compute_reward`` returned something outside the contract; ``kind`` names which rule it broke."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def to_scalar(value: Any) -> float | None:
    """``value`` as a float if it is one real number (Python or numpy, 0-d arrays included), else None;
    ContractError for an integer beyond the float range (``float()`` would raise OverflowError)."""
    if isinstance(value, bool | int | float | np.bool_ | np.integer | np.floating):
        try:
            return float(value)
        except OverflowError:
            raise ContractError(
                "magnitude", "an integer beyond the float range: return floats of a sensible magnitude"
            ) from None
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "biuf":
        return float(value)
    return None


def describe(value: Any) -> str:
    """What ``value`` is, in a few words (for a message about a value outside the contract)."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} ({value.dtype})"
    if isinstance(value, tuple | list):
        return f"a {type(value).__name__} of length {len(value)}"
    return f"a {type(value).__name__}"


def bad_name(name: Any) -> str | None:
    """Why ``name`` cannot name a component, or None: names are ASCII identifiers (they reach tables, pages
    and prompts)."""
    if type(name) is str and name in _known_names:
        return None
    if not isinstance(name, str):
        return f"component names must be strings; one is {describe(name)}"
    if not (name.isascii() and name.isidentifier()) or len(name) > MAX_NAME_CHARS:
        shown = "".join(c if c.isascii() and (c.isalnum() or c == "_") else "?" for c in name[:MAX_NAME_CHARS])
        return (
            f"component name {shown!r} is not a Python identifier of at most {MAX_NAME_CHARS} ASCII characters: "
            "use names like 'forward_velocity'"
        )
    if type(name) is str and len(_known_names) < MAX_KNOWN_NAMES:
        _known_names.add(name)
    return None


def to_numbers(out: Any) -> tuple[float, dict[str, float]]:
    """``(total, components)`` as floats; raises ContractError for any shape, type or name outside the contract."""
    if not isinstance(out, tuple | list) or len(out) != 2:
        raise ContractError("shape", f"compute_reward must return (total, components); it returned {describe(out)}")
    total, comps = out
    value = to_scalar(total)
    if value is None:
        raise ContractError("total", f"the total must be a real scalar; it is {describe(total)}")
    if not isinstance(comps, dict):
        raise ContractError("components", f"components must be a dict of name -> number; they are {describe(comps)}")
    numbers: dict[str, float] = {}
    for name, v in comps.items():
        why = bad_name(name)
        if why:
            raise ContractError("name", why)
        number = to_scalar(v)
        if number is None:
            raise ContractError("component", f"component {name!r} must be a real scalar; it is {describe(v)}")
        numbers[name] = number
    return value, numbers


def value_problem(total: float, components: dict[str, float]) -> tuple[str, str] | None:
    """``(kind, message)`` if converted numbers break the contract (non-finite, or components that do not sum to
    the total), else None."""
    bad = [f"{k}={v}" for k, v in components.items() if not math.isfinite(v)]
    if bad or not math.isfinite(total):
        return "nonfinite", f"total={total}" + (f", {', '.join(bad)}" if bad else "")
    if components:
        try:
            whole = math.fsum(components.values())
        except OverflowError:
            return "sum", "components sum past the largest float"
        if abs(whole - total) > SUM_TOLERANCE * max(1.0, abs(total)):
            return "sum", f"components sum to {whole:.6g} but the total is {total:.6g}"
    return None


def _accepted(out: Any) -> tuple[float, dict[str, float]] | None:
    """``out`` itself if it is the common case and within every rule: a tuple of a ``float`` total and a ``dict``
    of known names (exact ``str``) to ``float`` values, all finite, summing to the total. None for anything
    else, which the full rules then judge: so this path accepts nothing they would reject."""
    if type(out) is not tuple or len(out) != 2:
        return None
    total, components = out
    if type(total) is not float or type(components) is not dict:
        return None
    known = _known_names
    for name, value in components.items():
        if type(name) is not str or type(value) is not float or name not in known:
            return None
    if not components:
        return out if math.isfinite(total) else None
    try:
        whole = math.fsum(components.values())  # nan if any is; inf - inf raises; so finite means all finite
    except (OverflowError, ValueError):
        return None
    if math.isfinite(whole) and math.isfinite(total) and abs(whole - total) <= SUM_TOLERANCE * max(1.0, abs(total)):
        return out
    return None


def checked(out: Any) -> tuple[float, dict[str, float]]:
    """``to_numbers`` then ``value_problem``: the whole contract on one call's output, raising ContractError.

    Every training step calls this, so the common case (``_accepted``) skips the conversions."""
    fast = _accepted(out)
    if fast is not None:
        return fast
    total, components = to_numbers(out)
    problem = value_problem(total, components)
    if problem is not None:
        raise ContractError(*problem)
    return total, components
