"""Aggregate scores over training seeds the way rliable recommends: mean and IQM with 95% stratified-bootstrap
confidence intervals, and the probability of improvement of each method over each baseline.

Scores are per-seed fitness values of one task (``num_runs x 1`` matrices for rliable). rliable is imported
here, lazily by the callers: it pulls scipy, pandas and arch (a few seconds of import).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import numpy as np
from pydantic import BaseModel, Field

REPS = 2000  # bootstrap replications: enough for stable 95% bounds with 3-10 seeds, well under a second


class Interval(BaseModel):
    """A point estimate with its 95% confidence interval."""

    value: float
    low: float
    high: float


class MethodSummary(BaseModel):
    """One method's scores over seeds, aggregated."""

    method: str
    seeds: int
    scores: list[float]
    mean: Interval
    iqm: Interval
    improvement: dict[str, Interval] = Field(
        default_factory=dict, description="baseline -> P(this method's score > the baseline's), with its CI"
    )
    normalized: Interval | None = Field(
        default=None, description="Eureka's human-normalised score (method - builtin) / |reference - builtin|"
    )


@contextmanager
def _seeded_bootstrap(seed: int) -> Iterator[np.random.RandomState]:
    """A reproducible bootstrap: rliable 1.2's StratifiedBootstrap draws from numpy's global generator (it ignores
    its ``random_state``), so that is seeded here and restored after; arch's deprecation warning is silenced."""
    saved = np.random.get_state()
    np.random.seed(seed)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning, module="arch")
            yield np.random.RandomState(seed)
    finally:
        np.random.set_state(saved)


def interval_estimates(
    scores: Mapping[str, object], func: Callable[..., np.ndarray], reps: int, seed: int
) -> tuple[dict, dict]:
    """rliable's stratified-bootstrap point estimates and 95% intervals, reproducible for ``seed``."""
    from rliable import library

    with _seeded_bootstrap(seed) as rng:
        return library.get_interval_estimates(scores, func, reps=reps, random_state=rng)


def summarize(
    scores: Mapping[str, Sequence[float]], baselines: Sequence[str] = (), reps: int = REPS, seed: int = 0,
    normalize: tuple[float, float] | None = None,
) -> list[MethodSummary]:  # fmt: skip
    """Mean, IQM and P(improvement) over each baseline for every method with at least one score.

    ``normalize = (builtin, reference)`` adds the human-normalised IQM, with its interval mapped through the same
    affine transform (it is monotone, so the bootstrap interval maps exactly)."""
    from rliable import metrics

    matrices = {m: np.asarray(v, dtype=float).reshape(-1, 1) for m, v in scores.items() if len(v)}
    if not matrices:
        return []

    def aggregates(x: np.ndarray) -> np.ndarray:
        return np.array([metrics.aggregate_mean(x), metrics.aggregate_iqm(x)])

    points, intervals = interval_estimates(matrices, aggregates, reps, seed)
    pairs = {(m, b): (matrices[m], matrices[b]) for m in matrices for b in baselines if b in matrices and b != m}
    improvement_points: dict = {}
    improvement_intervals: dict = {}
    if pairs:
        keyed = {f"{m}\x00{b}": pair for (m, b), pair in pairs.items()}
        improvement_points, improvement_intervals = interval_estimates(
            keyed, metrics.probability_of_improvement, reps, seed + 1
        )
    summaries = []
    for method, matrix in matrices.items():
        point, ci = points[method], intervals[method]
        improvement = {
            b: _interval(improvement_points[f"{method}\x00{b}"], improvement_intervals[f"{method}\x00{b}"])
            for (m, b) in pairs
            if m == method
        }
        iqm = Interval(value=float(point[1]), low=float(ci[0][1]), high=float(ci[1][1]))
        summaries.append(
            MethodSummary(
                method=method, seeds=len(matrix), scores=[float(v) for v in matrix[:, 0]],
                mean=Interval(value=float(point[0]), low=float(ci[0][0]), high=float(ci[1][0])), iqm=iqm,
                improvement=improvement, normalized=normalized(iqm, *normalize) if normalize else None,
            )
        )  # fmt: skip
    return summaries


def normalized(score: Interval, builtin: float, reference: float) -> Interval | None:
    """(score - builtin) / |reference - builtin|; None when the reference scores what the built-in reward does."""
    scale = abs(reference - builtin)
    if scale == 0 or not np.isfinite(scale):
        return None
    return Interval(
        value=(score.value - builtin) / scale, low=(score.low - builtin) / scale, high=(score.high - builtin) / scale
    )


def _interval(point: np.ndarray | float, ci: np.ndarray) -> Interval:
    ci = np.asarray(ci, dtype=float).reshape(2, -1)
    return Interval(value=float(np.asarray(point).reshape(-1)[0]), low=float(ci[0][0]), high=float(ci[1][0]))
