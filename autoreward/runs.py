"""Starting, finishing and exporting stored runs: what ``run``, ``resume`` and ``export`` share."""

from __future__ import annotations

import time
from pathlib import Path

from autoreward.errors import AutorewardError
from autoreward.export import unexportable, write_standalone
from autoreward.provenance import provenance
from autoreward.run_plot import plot_fitness
from autoreward.runconfig import RunConfig
from autoreward.store import RunStore
from autoreward.tasks import TaskCard, load_card, resolve_task


def new_run_id(task: str) -> str:
    return f"{task}-{time.strftime('%Y%m%d-%H%M%S')}"


def create_run(store: RunStore, card: TaskCard, config: RunConfig, run_id: str | None = None) -> str:
    """Store a new run with its card, settings, package versions and seeds; nothing runs yet."""
    if config.preference != "human":
        card.require_fitness()
    run_id = run_id or new_run_id(card.name)
    record = provenance(model=config.llm.model, prompts_dir=config.llm.prompts_dir, seeds=[config.seed])
    meta = {"provenance": record, "seed": config.seed, "card_path": str(card.source or "")}
    store.create_run(run_id, card.name, card.model_dump(mode="json"), config.model_dump(mode="json"), meta)
    return run_id


def stored_card(store: RunStore, run_id: str) -> TaskCard:
    """The card a run was started with (from its file when it still exists, else from the stored copy)."""
    run = store.run(run_id)
    path = run.meta.get("card_path")
    if path and Path(path).is_file():
        return load_card(path)
    try:
        return resolve_task(run.task)
    except AutorewardError:
        return TaskCard.model_validate(run.card)


def export_path(store: RunStore, run_id: str) -> Path:
    task = store.run(run_id).task
    return store.run_dir(run_id) / f"{task.replace('-', '_')}_reward.py"


def export_best(store: RunStore, run_id: str, output: Path | None = None) -> Path:
    """Write the run's best program as a standalone file (default: in the run directory)."""
    run = store.run(run_id)
    if run.best_candidate is None:
        trained = [r for r in store.candidates(run_id) if r.fitness is not None and r.status == "trained"]
        if not trained:
            raise AutorewardError(f"run {run_id} has no trained candidate yet: `autoreward resume {run_id}` first")
        best = max(trained, key=lambda r: r.fitness or 0.0)
        best_id, fitness = best.id, best.fitness
    else:
        best_id, fitness = run.best_candidate, run.best_fitness
    source = store.source(best_id)
    if source is None:
        raise AutorewardError(f"the code of {best_id} is missing from {store.candidate_dir(best_id)}")
    return write_standalone(
        output or export_path(store, run_id), source, task=run.task, env_id=run.card["env_id"], run_id=run_id,
        fitness=fitness,
    )  # fmt: skip


def finish_run(store: RunStore, run_id: str, card: TaskCard) -> tuple[Path | None, Path | None]:
    """The run's plot and exported file (either None when no candidate was trained)."""
    rows = store.candidates(run_id)
    plot = plot_fitness(rows, store.run_dir(run_id) / "fitness.png", card.name, card.success_threshold)
    exportable = unexportable(card.env_id) is None  # the symbolic suites' States are not standalone yet
    exported = export_best(store, run_id) if exportable and any(r.status == "trained" for r in rows) else None
    return plot, exported
