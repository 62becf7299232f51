"""An evaluation's evidence: per-method intervals (rliable), normalised scores, sample-efficiency curves, PNGs.

Reads only what the store holds, so ``evaluate``, ``report`` and the web page show the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, Field, computed_field

from autoreward.evaluation import BUILTIN, EvaluationSpec, curves, failures, fitness_by_method, pending
from autoreward.intervals import REPS, MethodSummary, interval_estimates, summarize
from autoreward.store import RunStore

REFERENCE = "reference"
PLOTS = ("intervals", "curves")


MIN_SEEDS = 5  # below this, interval estimates over seeds are unreliable (Agarwal et al., rliable)


class EvaluationSummary(BaseModel):
    """What ``evaluate --json`` prints and ``report`` tabulates."""

    id: str
    task: str
    timesteps: int | None
    episodes: int
    seeds: list[int]
    baselines: list[str]
    methods: list[MethodSummary]
    origins: dict[str, str] = Field(default_factory=dict, description="method -> file or candidate id")
    failures: list[str] = Field(default_factory=list)
    pending: int = Field(default=0, description="(method, seed) pairs not trained yet")
    plots: dict[str, str] = Field(default_factory=dict, description="name -> PNG path")
    provenance: dict[str, Any] = Field(default_factory=dict)

    def method(self, name: str) -> MethodSummary | None:
        return next((m for m in self.methods if m.method == name), None)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def small_sample(self) -> str | None:
        """The warning every table of this evaluation carries when it has fewer than ``MIN_SEEDS`` seeds."""
        if len(self.seeds) >= MIN_SEEDS:
            return None
        return (f"only {len(self.seeds)} training seed(s): fewer than {MIN_SEEDS}, so the 95% intervals are rough "
                f"(rliable's advice); rerun with --seeds {MIN_SEEDS} or more before calling a difference")  # fmt: skip


def summarize_evaluation(store: RunStore, evaluation_id: str, reps: int = REPS) -> EvaluationSummary:
    row = store.evaluation(evaluation_id)
    spec = EvaluationSpec.model_validate(row.spec)
    rows = store.seed_results(evaluation_id)
    scores = fitness_by_method(spec, rows)
    baselines = [m.name for m in spec.methods if m.baseline]
    summaries = summarize(scores, baselines, reps=reps, normalize=_anchors(scores))
    return EvaluationSummary(
        id=evaluation_id, task=row.task, timesteps=spec.timesteps, episodes=spec.episodes, seeds=spec.seeds,
        baselines=baselines, methods=summaries, origins={m.name: m.origin for m in spec.methods},
        failures=failures(rows), pending=len(pending(spec, rows)), provenance=row.meta.get("provenance", {}),
        plots={n: str(p) for n in PLOTS if (p := store.run_dir(evaluation_id) / f"{n}.png").is_file()},
    )  # fmt: skip


def _anchors(scores: dict[str, list[float]]) -> tuple[float, float] | None:
    """(builtin, reference) IQMs for Eureka's normalised score, when both were evaluated."""
    from scipy.stats import trim_mean

    if scores.get(BUILTIN) and scores.get(REFERENCE):
        return float(trim_mean(scores[BUILTIN], 0.25)), float(trim_mean(scores[REFERENCE], 0.25))
    return None


def write_plots(store: RunStore, summary: EvaluationSummary, reps: int = 500) -> dict[str, str]:
    """``intervals.png`` (mean and IQM with 95% CIs per method) and ``curves.png`` (IQM of the training
    episodes' fitness vs env steps, with 95% CI bands) in the evaluation's directory."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory = store.run_dir(summary.id)
    spec = EvaluationSpec.model_validate(store.evaluation(summary.id).spec)
    paths = {}
    if summary.methods:
        fig = _intervals_figure(plt, summary)
        fig.savefig(directory / "intervals.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        paths["intervals"] = str(directory / "intervals.png")
    data = curves(spec, store.seed_results(summary.id))
    if data:
        fig = _curves_figure(plt, summary.task, data, reps)
        fig.savefig(directory / "curves.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        paths["curves"] = str(directory / "curves.png")
    return paths


def _intervals_figure(plt: Any, summary: EvaluationSummary) -> Any:
    methods = summary.methods
    fig, axes = plt.subplots(1, 2, figsize=(9, 0.6 * len(methods) + 1.2), sharey=True)
    for ax, metric in zip(axes, ("mean", "iqm"), strict=True):
        for y, m in enumerate(methods):
            interval = getattr(m, metric)
            ax.barh(y, interval.high - interval.low, left=interval.low, height=0.6, alpha=0.6, color=f"C{y}")
            ax.vlines(interval.value, y - 0.3, y + 0.3, color="k")
        ax.set_title(f"{metric.upper() if metric == 'iqm' else 'mean'} (95% CI)")
        ax.grid(True, axis="x", alpha=0.3)
        ax.set_xlabel("true fitness")
    axes[0].set_yticks(range(len(methods)), [f"{m.method} (n={m.seeds})" for m in methods])
    fig.suptitle(f"{summary.task}: final fitness over training seeds")
    fig.tight_layout()
    return fig


def _curves_figure(plt: Any, task: str, data: dict[str, tuple[list[float], list[list[float]]]], reps: int) -> Any:
    from rliable import metrics

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (method, (steps, series)) in enumerate(data.items()):
        scores = np.asarray(series, dtype=float)[:, None, :]  # runs x tasks x checkpoints

        def per_point(x: np.ndarray) -> np.ndarray:
            return np.array([metrics.aggregate_iqm(x[..., t]) for t in range(x.shape[-1])])

        points, cis = interval_estimates({method: scores}, per_point, reps, i)
        ax.plot(steps, points[method], marker="o", color=f"C{i}", label=f"{method} (n={len(series)})")
        ax.fill_between(steps, cis[method][0], cis[method][1], color=f"C{i}", alpha=0.2)
    ax.set_xlabel("env steps")
    ax.set_ylabel("true fitness, program-free (IQM, 95% CI)")
    ax.set_title(f"{task}: sample efficiency")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def table_rows(summary: EvaluationSummary) -> list[dict[str, str]]:
    """One row of formatted cells per method: what the terminal table and the markdown report show."""
    rows = []
    for m in summary.methods:
        row = {
            "method": m.method, "seeds": str(m.seeds), "mean [95% CI]": _ci(m.mean),
            "IQM [95% CI]": _ci(m.iqm),
        }  # fmt: skip
        for b in summary.baselines:
            row[f"P(> {b})"] = _ci(m.improvement[b], 2) if b in m.improvement else "-"
        if any(x.normalized for x in summary.methods):
            row["normalised IQM"] = _ci(m.normalized, 2) if m.normalized else "-"
        rows.append(row)
    return rows


def _ci(interval: Any, digits: int = 4) -> str:
    return f"{interval.value:.{digits}g} [{interval.low:.{digits}g}, {interval.high:.{digits}g}]"


def summaries_for(store: RunStore, ids: Sequence[str]) -> list[EvaluationSummary]:
    return [summarize_evaluation(store, i) for i in ids]
