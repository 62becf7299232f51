"""The run's picture: true fitness per iteration, every trained candidate and the best so far."""

from __future__ import annotations

from pathlib import Path

from autoreward.store import CandidateRow


def plot_fitness(rows: list[CandidateRow], path: Path, task: str, threshold: float | None = None) -> Path | None:
    """Write ``path`` (PNG); None when no candidate has a fitness yet."""
    scored = [r for r in rows if r.fitness is not None]
    if not scored:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    iterations = sorted({r.iteration for r in rows})
    best_so_far, best = [], float("-inf")
    for it in iterations:
        best = max([best, *(r.fitness for r in scored if r.iteration == it and r.fitness is not None)])
        best_so_far.append(best if best > float("-inf") else None)
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=110)
    ax.scatter([r.iteration + 1 for r in scored], [r.fitness for r in scored], alpha=0.6, label="candidates")
    ax.plot([i + 1 for i in iterations], best_so_far, marker="o", color="black", label="best so far")
    if threshold is not None:
        ax.axhline(threshold, linestyle="--", color="green", label="success threshold")
    ax.set_xlabel("iteration")
    ax.set_ylabel("true fitness")
    ax.set_xticks([i + 1 for i in iterations])
    ax.set_title(task)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
