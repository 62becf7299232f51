"""From ``autoreward evaluate``'s arguments to an EvaluationSpec: which programs, which baselines, which card.

A target is a stored run (its best candidate), one candidate (``RUN_ID/CANDIDATE``) or a reward file; a baseline
is ``builtin`` or a reward file; a card's ``reference`` program joins as the baseline ``reference``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from autoreward.envs.make import with_algorithm
from autoreward.errors import AutorewardError
from autoreward.evaluation import BUILTIN, EvaluationSpec, Method, fresh_seeds, unique_names
from autoreward.evidence import REFERENCE
from autoreward.runs import stored_card
from autoreward.store import RunStore
from autoreward.tasks import TaskCard, catalog_dir, resolve_task


def read_program(path: Path, what: str = "reward file") -> str:
    if not path.is_file():
        raise AutorewardError(f"no {what} {path}; give the path to a .py file defining compute_reward")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise AutorewardError(f"{path}: cannot be read as UTF-8 text ({err})") from None


def _is_file_target(target: str) -> bool:
    return target.endswith(".py") or Path(target).is_file()


def target_method(store: RunStore, target: str, task: str | None) -> tuple[Method, TaskCard]:
    """The program to evaluate and the card to judge it by."""
    if _is_file_target(target):
        if task is None:
            raise AutorewardError(f"evaluating the file {target} needs --task TASK (a catalog name or a card path)")
        path = Path(target)
        return Method(name=path.stem, source=read_program(path), origin=str(path.resolve())), resolve_task(task)
    run_id, _, name = target.partition("/")
    run = store.run(run_id)
    card = stored_card(store, run_id)
    if task is not None and resolve_task(task).name != card.name:
        raise AutorewardError(f"run {run_id} is a {card.name} run, not {task}: drop --task or pick another run")
    candidate_id = f"{run_id}/{name}" if name else run.best_candidate or _best_trained(store, run_id)
    store.candidate(candidate_id)  # names the missing candidate
    source = store.source(candidate_id)
    if source is None:
        raise AutorewardError(f"the code of {candidate_id} is missing from {store.candidate_dir(candidate_id)}")
    return Method(name=candidate_id, source=source, origin=candidate_id), card


def _best_trained(store: RunStore, run_id: str) -> str:
    trained = [r for r in store.candidates(run_id) if r.status == "trained" and r.fitness is not None]
    if not trained:
        raise AutorewardError(f"run {run_id} has no trained candidate: evaluate RUN_ID/CANDIDATE or a file")
    return max(trained, key=lambda r: r.fitness or 0.0).id


def baseline_methods(card: TaskCard, baselines: Sequence[str]) -> list[Method]:
    """``builtin``, reward files, and the card's reference program (as ``reference``)."""
    methods = []
    for baseline in baselines or [BUILTIN]:
        if baseline == BUILTIN:
            methods.append(Method(name=BUILTIN, source=None, origin="the env's own reward", baseline=True))
        else:
            path = Path(baseline)
            source = read_program(path, "baseline reward file")
            methods.append(Method(name=path.stem, source=source, origin=str(path.resolve()), baseline=True))
    reference = card.reference_path
    if reference is not None:
        source = read_program(reference, f"reference program (card {card.source})")
        methods.append(Method(name=REFERENCE, source=source, origin=str(reference), baseline=True))
    return methods


def plan(
    store: RunStore, targets: Sequence[str], task: str | None, baselines: Sequence[str], seeds: int,
    timesteps: int | None, episodes: int, checkpoints: int = 10, algorithm: str | None = None,
) -> tuple[EvaluationSpec, TaskCard]:  # fmt: skip
    """The spec of an evaluation of ``targets`` against ``baselines`` (``builtin`` when none is given), trained
    with ``algorithm`` (default: the card's, a run's as it was stored)."""
    if not targets:
        raise AutorewardError("evaluate needs a RUN_ID, RUN_ID/CANDIDATE or a reward FILE.py")
    picked = [target_method(store, t, task) for t in targets]
    card = picked[0][1]
    if any(c.name != card.name for _, c in picked):
        raise AutorewardError("all targets of one evaluation must be of the same task")
    card = with_algorithm(card, algorithm)
    methods = unique_names([m for m, _ in picked] + baseline_methods(card, baselines))
    spec = EvaluationSpec(
        task=str(card.source) if card.source and not _catalog_card(card) else card.name, methods=methods,
        seeds=fresh_seeds(seeds), timesteps=timesteps, episodes=episodes, checkpoints=checkpoints,
        algorithm=None if card.algorithm == "ppo" else card.algorithm,
    )  # fmt: skip
    return spec, card


def _catalog_card(card: TaskCard) -> bool:
    return card.source is not None and card.source.parent == catalog_dir().resolve()
