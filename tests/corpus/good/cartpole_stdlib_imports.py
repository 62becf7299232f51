# task: cartpole-balance
# The standard-library helpers strong models habitually import.
from __future__ import annotations

import abc
import collections
import enum
import functools
import itertools
import operator
from dataclasses import dataclass
from typing import Any

import numpy as np


class Term(enum.Enum):
    UPRIGHT = "upright"
    CENTRE = "centre"


@dataclass(frozen=True)
class Weights:
    upright: float = 1.0
    centre: float = 0.2


class Shaper(abc.ABC):
    @abc.abstractmethod
    def value(self, x: float) -> float: ...


class Gaussian(Shaper):
    def value(self, x: float) -> float:
        return float(np.exp(-((x / 0.1) ** 2)))


@functools.lru_cache(maxsize=None)
def weights() -> Weights:
    return Weights()


def compute_reward(prev: Any, action: Any, state: Any) -> tuple[float, dict[str, float]]:
    terms: collections.OrderedDict[str, float] = collections.OrderedDict()
    terms[Term.UPRIGHT.value] = weights().upright * Gaussian().value(state.pole_angle)
    terms[Term.CENTRE.value] = -weights().centre * abs(state.cart_position)
    total = functools.reduce(operator.add, itertools.chain(terms.values()), 0.0)
    return total, dict(terms)
