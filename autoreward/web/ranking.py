"""The human ranking: which candidates it orders, and the checks a submitted order must pass before storing.

The record is exactly the one the terminal's ``autoreward prefer`` stores, so ``autoreward resume`` cannot tell
where a ranking came from: ``add_preference(run_id, iteration, "human", ranking)``, best first.
"""

from __future__ import annotations

from autoreward.store import CandidateRow, Run, RunStore


class RankingError(ValueError):
    """A submitted ranking that cannot be stored; the message says what to send instead."""


class RankingConflict(RankingError):
    """The run is ranked by someone else (the synthetic oracle): a person's ranking would replace its record."""


def check_ranker(run: Run) -> None:
    """A synthetic-preference run stays an experiment: the loop takes any stored ranking, so refuse a person's."""
    if run.config.get("preference") == "synthetic":
        raise RankingConflict(
            f"run {run.id!r} is ranked by the synthetic oracle (--preference synthetic); a ranking stored here would "
            "replace the oracle's. Start a run with --preference human to rank it yourself"
        )


def rankable(store: RunStore, run_id: str) -> tuple[int, list[CandidateRow]] | None:
    """The latest iteration that has trained candidates, with those candidates; None before any training."""
    trained = [row for row in store.candidates(run_id) if row.status == "trained"]
    if not trained:
        return None
    latest = max(row.iteration for row in trained)
    return latest, [row for row in trained if row.iteration == latest]


def check_ranking(store: RunStore, run_id: str, ranking: list[str], iteration: int | None) -> int:
    """The iteration the ranking belongs to, when it orders each of that iteration's trained candidates once."""
    target = rankable(store, run_id)
    if target is None:
        raise RankingError(f"run {run_id!r} has no trained candidates to rank yet")
    latest, rows = target
    if iteration is not None and iteration != latest:
        raise RankingError(f"only the latest trained iteration ({latest}) can be ranked, not iteration {iteration}")
    expected = [row.id for row in rows]
    unknown = [c for c in ranking if c not in expected]
    if unknown:
        raise RankingError(f"not trained candidates of iteration {latest}: {', '.join(unknown)}; rank {expected}")
    duplicates = sorted({c for c in ranking if ranking.count(c) > 1})
    if duplicates:
        raise RankingError(f"each candidate appears once; repeated: {', '.join(duplicates)}")
    missing = [c for c in expected if c not in ranking]
    if missing:
        raise RankingError(f"incomplete ranking: also place {', '.join(missing)} (rank all {len(expected)})")
    return latest


def store_ranking(store: RunStore, run_id: str, ranking: list[str], iteration: int | None = None) -> int:
    """Validate and store a human ranking (best first); returns its iteration."""
    check_ranker(store.run(run_id))
    latest = check_ranking(store, run_id, ranking, iteration)
    store.add_preference(run_id, latest, "human", list(ranking))
    return latest
