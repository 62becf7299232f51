"""Rankings of an iteration's policies: from a person (terminal or web page) or from a synthetic oracle.

The oracle reproduces ICPL's synthetic-preference setting: it compares policies pairwise by the task's true
fitness plus Gaussian noise, within a budget of comparisons, and sorts by those comparisons.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from autoreward.errors import AutorewardError


def parse_ranking(text: str, labels: Sequence[str]) -> list[str]:
    """A typed order such as ``2 1 3`` or ``c02, c01, c03`` (best first) as a full ranking of ``labels``.

    Numbers count from 1 in the order shown. Every label must appear exactly once.
    """
    tokens = [t for t in text.replace(",", " ").replace(">", " ").split() if t]
    ranking: list[str] = []
    for token in tokens:
        if token.isdigit() and 1 <= int(token) <= len(labels):
            label = labels[int(token) - 1]
        elif token in labels:
            label = token
        else:
            raise AutorewardError(f"unknown policy {token!r}: use the numbers 1..{len(labels)} or the names shown")
        if label in ranking:
            raise AutorewardError(f"{token!r} appears twice: name each policy once, best first")
        ranking.append(label)
    missing = [label for label in labels if label not in ranking]
    if missing:
        raise AutorewardError(f"the ranking leaves out {', '.join(missing)}: rank every policy, best first")
    return ranking


def validate_ranking(ranking: Sequence[str], labels: Sequence[str]) -> list[str]:
    """The same rules for a ranking that arrives as a list (the web page's POST)."""
    return parse_ranking(" ".join(ranking), labels)


def oracle_ranking(
    fitness: dict[str, float], noise: float = 0.0, budget: int | None = None, seed: int = 0
) -> tuple[list[str], int]:
    """(ranking best first, comparisons used). Binary-insertion sort with noisy comparisons; once the budget is
    spent, the remaining policies are appended unranked in a random order, as a person who ran out of time."""
    rng = random.Random(seed)
    used = 0

    def better(a: str, b: str) -> bool:
        nonlocal used
        used += 1
        return fitness[a] + rng.gauss(0.0, noise) > fitness[b] + rng.gauss(0.0, noise)

    labels = list(fitness)
    rng.shuffle(labels)
    ranked: list[str] = []
    rest: list[str] = []
    for label in labels:
        if budget is not None and used >= budget and ranked:
            rest.append(label)
            continue
        ranked.insert(_insertion_point(ranked, label, better, budget, lambda: used), label)
    return ranked + rest, used


def _insertion_point(
    ranked: list[str], label: str, better: Callable[[str, str], bool], budget: int | None, used: Callable[[], int]
) -> int:
    low, high = 0, len(ranked)
    while low < high and (budget is None or used() < budget):
        mid = (low + high) // 2
        if better(label, ranked[mid]):
            high = mid
        else:
            low = mid + 1
    return low
