"""PNG plots in the candidate's directory: the learning curve and the reward components over training."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from autoreward.training.stats import Checkpoint, Evaluation


def _finite(values: list[float | None]) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


def learning_curve(checkpoints: list[Checkpoint], evaluation: Evaluation | None, path: Path, title: str = "") -> Path:
    """True fitness of the training episodes (mean, min-max band) against timesteps, plus the final eval."""
    steps = [c.timesteps for c in checkpoints]
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax.plot(steps, _finite([c.fitness_mean for c in checkpoints]), marker="o", label="training episodes")
    ax.fill_between(
        steps, _finite([c.fitness_min for c in checkpoints]), _finite([c.fitness_max for c in checkpoints]),
        alpha=0.2, label="min-max",
    )  # fmt: skip
    evals = [(c.timesteps, c.eval_fitness) for c in checkpoints if c.eval_fitness is not None]
    if evals:
        ax.plot(*zip(*evals, strict=True), marker="s", label="evaluation")
    if evaluation is not None and steps:
        ax.errorbar(
            [steps[-1]], [evaluation.fitness_mean], yerr=[evaluation.fitness_std], fmt="*", markersize=12,
            label=f"final evaluation ({evaluation.episodes} episodes)",
        )  # fmt: skip
    ax.set_xlabel("timesteps")
    ax.set_ylabel("true fitness")
    ax.set_title(title or "learning curve")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def component_curves(checkpoints: list[Checkpoint], path: Path, title: str = "") -> Path:
    """Each reward component's per-step mean (min-max band) against timesteps, one panel per component."""
    names = sorted({name for c in checkpoints for name in c.components})
    count = max(1, len(names))
    cols = min(3, count)
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), dpi=100, squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        points = [(c.timesteps, c.components[name]) for c in checkpoints if name in c.components]
        steps = [t for t, _ in points]
        ax.plot(steps, [s.mean for _, s in points], marker=".")
        ax.fill_between(steps, [s.min for _, s in points], [s.max for _, s in points], alpha=0.2)
        ax.set_title(f"{name} (share {points[-1][1].share:.0%})", fontsize="small")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    fig.suptitle(title or "reward components per step (mean, min-max)")
    return _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
