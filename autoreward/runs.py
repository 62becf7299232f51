"""Starting, finishing and exporting stored runs: what ``run``, ``resume`` and ``export`` share."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from autoreward.critic.verdict import Verdict
from autoreward.errors import AutorewardError
from autoreward.export import write_standalone
from autoreward.provenance import provenance
from autoreward.run_plot import plot_fitness
from autoreward.runconfig import RunConfig
from autoreward.start import add_start_candidates
from autoreward.store import CandidateRow, RunStatus, RunStore, Status
from autoreward.tasks import TaskCard, load_card, resolve_task
from autoreward.training.hyperparams import learner_settings


def new_run_id(task: str) -> str:
    return f"{task}-{time.strftime('%Y%m%d-%H%M%S')}"


def create_run(
    store: RunStore, card: TaskCard, config: RunConfig, run_id: str | None = None,
    start_verdicts: Sequence[Verdict | None] = (), replay_of: str | None = None,
) -> str:  # fmt: skip
    """Store a new run with its card, settings, provenance and seeds, and the programs it starts from as
    candidates (accepted, with ``start_verdicts`` from ``check_start_programs``); nothing runs yet.
    ``replay_of``: the run whose stored LLM answers this one replays (it then asks the LLM nothing)."""
    if config.preference != "human":
        card.require_fitness()
    run_id = run_id or new_run_id(card.name)
    record = provenance(model=config.llm.model, prompts_dir=config.llm.prompts_dir, seeds=[config.seed])
    meta = {"provenance": record, "seed": config.seed, "card_path": str(card.source or "")}
    if replay_of is not None:
        meta["replay_of"] = replay_of
    store.create_run(run_id, card.name, card.model_dump(mode="json"), config.model_dump(mode="json"), meta)
    add_start_candidates(store, run_id, config.start_from, start_verdicts)
    return run_id


def stored_card(store: RunStore, run_id: str) -> TaskCard:
    """The card a run was started with: its stored copy, never the file again (an edited card must not change a
    stored run). Its path is kept so that a module named relative to it still resolves."""
    run = store.run(run_id)
    path = run.meta.get("card_path")
    try:
        return TaskCard.model_validate({**run.card, "source": Path(path) if path else None})
    except ValidationError:  # a copy stored by an older version: read it as that version did
        return load_card(path) if path and Path(path).is_file() else resolve_task(run.task)


def export_path(store: RunStore, run_id: str) -> Path:
    task = store.run(run_id).task
    return store.run_dir(run_id) / f"{task.replace('-', '_')}_reward.py"


def no_trained_candidate(run_id: str) -> str:
    """What to do about a run that ended with no trained candidate (every program rejected or failed)."""
    return (
        f"run {run_id} ended with no trained candidate: every program was rejected or failed (`autoreward show "
        f"{run_id}` says why); start again with more --iterations or --samples, a stronger --model, or your own "
        "reward with --from FILE"
    )


def export_best(store: RunStore, run_id: str, output: Path | None = None) -> Path:
    """Write the run's best program as a standalone file (default: in the run directory)."""
    run = store.run(run_id)
    if run.best_candidate is None:
        best = store.best(run_id)
        if best is None and run.status == RunStatus.FINISHED:
            raise AutorewardError(no_trained_candidate(run_id))
        if best is None:
            raise AutorewardError(f"run {run_id} has no trained candidate yet: `autoreward resume {run_id}` first")
        best_id, fitness = best.id, best.fitness
    else:
        best_id, fitness = run.best_candidate, run.best_fitness
    source = store.source(best_id)
    if source is None:
        raise AutorewardError(f"the code of {best_id} is missing from {store.candidate_dir(best_id)}")
    return write_standalone(
        output or export_path(store, run_id), source, task=run.task, env_id=run.card["env_id"], run_id=run_id,
        fitness=fitness, descent=descent(store, best_id, names_only=True),
        provenance=how_trained(store, best_id), observation=stored_card(store, run_id).observation_spans,
    )  # fmt: skip


def how_trained(store: RunStore, candidate_id: str) -> dict[str, str]:
    """For the exported file's header: the algorithm, its settings, the budget, the seeds and the fitness with
    its interval that the candidate's stored result records."""
    row = store.candidate(candidate_id)
    run = store.run(row.run_id)
    settings = learner_settings(stored_card(store, row.run_id))
    ppo = ", ".join(f"{k}={v}" for k, v in settings.ppo.items())
    out = {
        "algorithm": f"{settings.name} (stable-baselines3)",
        "settings": f"{settings.source}; n_envs={settings.n_envs}" + (f"; {ppo}" if ppo else ""),
    }
    result = row.trained
    if result is None:
        return out
    if result.hyperparams_source:  # what the training itself recorded, where it did
        out["settings"] = f"{result.hyperparams_source}; n_envs={result.n_envs}" + (f"; {ppo}" if ppo else "")
    out["budget"] = f"{result.timesteps} of {result.total_timesteps} timesteps"
    try:
        seed = RunConfig.model_validate(run.config).train_seed(row.iteration, row.idx)
        out["seeds"] = f"training {seed}"
    except ValueError:
        out["seeds"] = "training seed not recorded"
    ev = result.evaluation
    if ev is not None:
        out["seeds"] += f"; evaluation episodes {', '.join(str(r.seed) for r in ev.rollouts)}"
        half = 1.96 * ev.fitness_std / math.sqrt(max(ev.episodes, 1))
        out["fitness"] = (
            f"{ev.fitness_mean:.4g} over {ev.episodes} episodes, 95% interval "
            f"[{ev.fitness_mean - half:.4g}, {ev.fitness_mean + half:.4g}] (normal approximation)"
        )
    return out


def builtin_note(store: RunStore, run_id: str) -> str | None:
    """One line when the env's own reward trained to a higher fitness than every generated reward (which is
    still what ``export`` writes: the built-in reward is a yardstick, not the run's result)."""
    trained = [r for r in store.candidates(run_id) if r.status == Status.TRAINED and r.fitness is not None]
    builtin = max((r for r in trained if r.builtin), key=lambda r: r.fitness or 0.0, default=None)
    best = max((r for r in trained if not r.builtin), key=lambda r: r.fitness or 0.0, default=None)
    if builtin is None or (best is not None and (best.fitness or 0.0) >= (builtin.fitness or 0.0)):
        return None
    if best is None:
        return f"the env's own reward reached fitness {builtin.fitness:.4g}; no generated reward was trained"
    return (
        f"the env's own reward reached fitness {builtin.fitness:.4g}, more than the best generated reward "
        f"({best.fitness:.4g}, {best.name}), which is what is exported"
    )


def tie_note(store: RunStore, run_id: str) -> str | None:
    """One line when several generated rewards share the best true fitness (the exported one is the first
    stored; a tie is not a win)."""
    best = store.best(run_id)
    if best is None:
        return None
    tied = [r for r in store.candidates(run_id) if r.status == Status.TRAINED and not r.builtin
            and r.fitness == best.fitness]  # fmt: skip
    if len(tied) < 2:
        return None
    names = ", ".join(r.name for r in tied)
    return f"{len(tied)} candidates tie for the best fitness {best.fitness:.4g} ({names}); {best.name} is exported"


def run_notes(store: RunStore, run_id: str) -> str | None:
    """What a person should know about a run's result, in one line: the built-in reward's lead, a tie."""
    return "; ".join(n for n in (builtin_note(store, run_id), tie_note(store, run_id)) if n) or None


def ancestry(store: RunStore, candidate_id: str) -> list[CandidateRow]:
    """The candidate and the programs it revised (its stored parent chain), oldest first."""
    rows = {r.id: r for r in store.candidates(store.candidate(candidate_id).run_id)}
    chain: list[CandidateRow] = []
    row = rows.get(candidate_id)
    while row is not None and row not in chain:
        chain.append(row)
        row = rows.get(row.parent_id or "")
    return chain[::-1]


def descent(store: RunStore, candidate_id: str, *, names_only: bool = False) -> str:
    """A sentence for the exported file's header when the run started from a user's file: which file the
    program descends from, through which candidates; empty when the run started from the LLM alone.
    ``names_only``: the files by name, without their directories (a file's header holds no absolute path)."""
    files = [
        r for r in store.candidates(store.candidate(candidate_id).run_id, 0) if r.origin is not None and not r.builtin
    ]
    if not files:
        return ""
    chain = ancestry(store, candidate_id)
    names = " -> ".join(r.name for r in chain)
    root = chain[0]

    def shown(origin: str | None) -> str:
        return Path(str(origin)).name if names_only else str(origin)

    if len(chain) == 1 and root.origin is not None:
        return f"It is the program of {shown(root.origin)}, unchanged (candidate {names})."
    if root.origin is not None and not root.builtin:
        return f"It descends from {shown(root.origin)}: {names} (each revised the one before)."
    started = ", ".join(shown(r.origin) for r in files)
    return f"The run started from {started}; this program ({names}) was written by the LLM beside it, not from it."


def finish_run(store: RunStore, run_id: str, card: TaskCard) -> tuple[Path | None, Path | None]:
    """The run's plot and exported file (either None when no candidate was trained)."""
    rows = store.candidates(run_id)
    plot = plot_fitness(rows, store.run_dir(run_id) / "fitness.png", card.name, card.success_threshold)
    generated = any(r.status == Status.TRAINED and not r.builtin for r in rows)
    try:
        exported = export_best(store, run_id) if generated else None
    except AutorewardError:  # a program accepted under older rules fails the allow-list: `export` says why
        exported = None
    return plot, exported
