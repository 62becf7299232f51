"""Rankings of an iteration's policies: from a person (terminal or web page) or from a synthetic oracle.

The oracle reproduces ICPL's synthetic-preference setting: it compares policies pairwise by the task's true
fitness plus Gaussian noise, within a budget of comparisons, and sorts by those comparisons.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from autoreward.errors import AutorewardError
from autoreward.store import CandidateRow, RunStatus, RunStore, Status


class RankingError(AutorewardError):
    """A ranking that cannot be stored; the message says what to send instead."""


class RankingConflict(RankingError):
    """The run is ranked by the synthetic oracle: a person's ranking would replace its record."""


def check_order(ranking: Sequence[str], expected: Sequence[str]) -> None:
    """``ranking`` must order each of ``expected`` exactly once."""
    unknown = [c for c in ranking if c not in expected]
    if unknown:
        raise RankingError(f"not a policy to rank: {', '.join(unknown)}; rank {', '.join(expected)}")
    duplicates = sorted({c for c in ranking if list(ranking).count(c) > 1})
    if duplicates:
        raise RankingError(f"{', '.join(duplicates)} appears twice: name each policy once, best first")
    missing = [c for c in expected if c not in ranking]
    if missing:
        raise RankingError(f"incomplete ranking: also place {', '.join(missing)} (rank all {len(expected)})")


def parse_ranking(text: str, labels: Sequence[str]) -> list[str]:
    """A typed order such as ``2 1 3`` (numbers count from 1 in the order shown) or the labels themselves,
    best first, as a full ranking of ``labels``."""
    ranking = []
    for token in text.replace(",", " ").replace(">", " ").split():
        if token.isdigit() and 1 <= int(token) <= len(labels):
            ranking.append(labels[int(token) - 1])
        elif token in labels:
            ranking.append(token)
        else:
            raise RankingError(f"unknown policy {token!r}: use the numbers 1..{len(labels)} or the names shown")
    check_order(ranking, labels)
    return ranking


def rankable(store: RunStore, run_id: str) -> tuple[int, list[CandidateRow]] | None:
    """The latest iteration that has trained candidates, with those candidates; None before any training. The
    env's own reward is a yardstick, not a reward to choose: it is not ranked."""
    trained = [row for row in store.candidates(run_id) if row.status == Status.TRAINED and not row.builtin]
    if not trained:
        return None
    latest = max(row.iteration for row in trained)
    return latest, [row for row in trained if row.iteration == latest]


def check_rankable_run(store: RunStore, run_id: str) -> None:
    """Raise unless ``run_id`` exists and a ranking stored now would steer it (a human-preference run, not
    finished)."""
    run = store.run(run_id)
    if run.config.get("preference") == "synthetic":
        raise RankingConflict(
            f"run {run_id!r} is ranked by the synthetic oracle (--preference synthetic); a ranking stored here would "
            "replace the oracle's. Start a run with --preference human to rank it yourself"
        )
    if run.config.get("preference") != "human" or run.status == RunStatus.FINISHED:
        why = "is finished" if run.status == RunStatus.FINISHED else "was started without --preference human"
        raise RankingConflict(
            f"run {run_id!r} {why}: no later iteration reads a ranking. Start a run with --preference human to "
            "steer it by your rankings"
        )


def store_ranking(store: RunStore, run_id: str, ranking: Sequence[str], iteration: int | None = None) -> int:
    """Check and store a person's ranking (best first) of the latest trained iteration; returns that iteration.

    The terminal and the web page store the same record, so ``autoreward resume`` cannot tell them apart."""
    check_rankable_run(store, run_id)
    target = rankable(store, run_id)
    if target is None:
        raise RankingError(f"run {run_id!r} has no trained policies to rank yet")
    latest, rows = target
    if iteration is not None and iteration != latest:
        raise RankingError(f"only the latest trained iteration ({latest}) can be ranked, not iteration {iteration}")
    check_order(ranking, [row.id for row in rows])
    store.add_preference(run_id, latest, "human", list(ranking))
    return latest


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
