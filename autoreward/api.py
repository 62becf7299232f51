"""The Python API: what ``autoreward`` does on the command line, as functions for scripts and notebooks.

The command line is a thin layer over these functions (one code path): they raise the project's own exceptions
(:class:`~autoreward.errors.AutorewardError` and its subclasses) with the one-line messages the CLI prints, and
report progress only to the observer they are given (quiet by default).
"""

from __future__ import annotations

import contextlib
import difflib
import importlib.util
import inspect
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from autoreward.errors import AutorewardError
from autoreward.runconfig import SAMPLES_WITH_PRUNING, RunConfig
from autoreward.types import RunStatus, Status

if TYPE_CHECKING:  # the stages are imported when a function needs them: `import autoreward` stays instant
    import gymnasium

    from autoreward.critic.verdict import Verdict
    from autoreward.observer import LoopObserver
    from autoreward.plan import Plan
    from autoreward.store import CandidateRow, Run, RunStore, RunSummary
    from autoreward.tasks import TaskCard
    from autoreward.types import Review

Notify = Callable[[str], None]
AskRanking = Callable[[int, list["CandidateRow"]], list[str] | None]
DEFAULTS = RunConfig.model_fields  # each default is declared once, on RunConfig


def _quiet(text: str) -> None:
    """Where notices go when nobody listens."""


@dataclass(frozen=True)
class RunResult:
    """What a finished (or paused) run produced, as plain data."""

    run_id: str
    best_candidate: str | None  # the candidate id (``RUN/itNN-cNN``) with the highest true fitness
    best_fitness: float | None  # its true fitness, from the program-free evaluation
    success: bool  # the card's success threshold was met
    iterations_done: int
    exported: Path | None  # the standalone reward file (None: nothing trained, or a suite that cannot export)
    plot: Path | None  # true fitness per iteration (PNG)
    note: str | None = None  # e.g. the env's own reward beat every generated one
    iterations: list[dict[str, Any]] = field(default_factory=list)  # per iteration: its candidates' rows


@dataclass(frozen=True)
class StoredRun:
    """One stored run: its record, its candidates with their code, results and the Analyzer's reports."""

    run: Run
    summary: RunSummary
    candidates: list[CandidateRow]
    sources: dict[str, str | None]  # candidate id -> the reward program's text
    analyses: dict[int, str]  # iteration -> the Analyzer's report
    best: CandidateRow | None  # the trained candidate with the highest true fitness (never the env's own reward)

    def __repr__(self) -> str:
        best = None if self.best is None else (self.best.name, self.best.fitness)
        return (f"StoredRun(run={self.run.id!r}, task={self.run.task!r}, status={self.run.status!r}, "
                f"candidates={len(self.candidates)}, best={best})")  # fmt: skip


# --- the catalog and the description --------------------------------------------------------------------------


def tasks() -> list[TaskCard]:
    """The catalog's task cards (``autoreward tasks``)."""
    from autoreward.tasks import catalog

    return list(catalog().values())


def describe(task: str | Path, *, steps: int = 300, seed: int = 0, prompts_dir: Path | None = None) -> str:
    """The environment description the LLM sees for ``task`` (a catalog name or a card's path)."""
    from autoreward.describe import describe as build
    from autoreward.tasks import resolve_task

    return build(resolve_task(str(task)), steps=steps, seed=seed).render(prompts_dir)


# --- the Critic -------------------------------------------------------------------------------------------------


def read_program(source_or_path: str | Path) -> str:
    """A reward program's text: a ``Path`` is always a file; a str is the program itself when it has several
    lines or starts like Python code, else the path of a file (``"compute_reward.py"`` is a file name)."""
    from autoreward.evaluation_plan import read_program as read_file

    if isinstance(source_or_path, str) and not Path(source_or_path).is_file():
        text = source_or_path.lstrip()
        if "\n" in text.rstrip() or text.startswith(("def ", "import ", "from ", "#", '"""')):
            return source_or_path
    return read_file(Path(source_or_path))


def check(
    source_or_path: str | Path, task: str | Path, *, llm_review: bool | None = False, steps: int = 300,
    notify: Notify = _quiet,
) -> Verdict:  # fmt: skip
    """The Critic on one reward program (``autoreward check``): static checks, a sandboxed dry run on real
    states and, with ``llm_review`` (None: when a model is configured), the LLM's review.
    ``verdict.accepted`` says whether it would train; ``verdict.reasons`` say why not, with line numbers."""
    from autoreward.critic import critique
    from autoreward.tasks import resolve_task
    from autoreward.training.hyperparams import learner_settings

    source = read_program(source_or_path)
    card = resolve_task(str(task))
    review = configured_review(card, notify) if llm_review is None or llm_review else None
    if llm_review and review is None:
        raise AutorewardError("llm_review=True needs a model: set AUTOREWARD_MODEL or `model` in autoreward.toml")
    return critique(source, card, review=review, steps=steps, discount=learner_settings(card).gamma)


def configured_review(card: TaskCard, notify: Notify = _quiet) -> Review | None:
    """The LLM review as a ``critique`` stage when a model is configured (environment or autoreward.toml)."""
    import functools

    from autoreward.config import load_settings
    from autoreward.critic.review import review
    from autoreward.describe import describe as build
    from autoreward.local_llm.endpoint import model_configured

    if not model_configured(None):
        notify("LLM review skipped: no model configured (AUTOREWARD_MODEL or autoreward.toml)")
        return None
    settings = load_settings()
    text = build(card).render(settings.prompts_dir)
    return functools.partial(review, description_text=text, settings=settings)


def plan(
    task: str | Path, *, model: str | None = None, api_base: str | None = None, notify: Notify = _quiet
) -> list[Plan]:
    """A sparse card's plans (``autoreward plan``), each checked on the dry run's solving paths and rollouts: the
    card's own sub-goals, the plan mined from the solving paths and, with ``model``, the LLM's plans."""
    from autoreward.config import load_settings
    from autoreward.critic.plan_check import find_plans
    from autoreward.describe import describe as build
    from autoreward.local_llm.endpoint import serving
    from autoreward.plan import ask_plans, field_names
    from autoreward.tasks import resolve_task
    from autoreward.training.hyperparams import settings_for

    card = resolve_task(str(task))
    description = build(card)
    discount, terminates = settings_for(card.env_id).gamma, description.terminations > 0
    if model is None:
        return find_plans(card, field_names(description), None, discount=discount, terminates=terminates)[0]
    with serving(load_settings({"model": model, "api_base": api_base}), notify=notify) as settings:
        plans, problems = find_plans(
            card, field_names(description), lambda offered: ask_plans(card, description, settings, offered=offered),
            discount=discount, terminates=terminates,
        )  # fmt: skip
    for problem in problems:
        notify(f"plan answer rejected: {problem}")
    return plans


# --- runs -------------------------------------------------------------------------------------------------------


def start_run(
    task: str | Path, *, model: str | None = None, api_base: str | None = None,
    iterations: int = DEFAULTS["iterations"].default, samples: int | None = None, timesteps: int | None = None,
    workers: int | None = None, seed: int = 0, preference: Literal["none", "synthetic", "human"] = "none",
    oracle_noise: float = 0.0, oracle_budget: int | None = None, video: bool = True,
    backend: Literal["local", "ray"] = "local", ray_address: str | None = None, gpus_per_candidate: float = 0.0,
    llm_review: bool | None = None, eval_episodes: int = DEFAULTS["eval_episodes"].default, prune: bool = True,
    prune_factor: int = DEFAULTS["prune_factor"].default, temperature: float | None = None,
    max_llm_cost: float | None = None, max_llm_tokens: int | None = None, prompts_dir: Path | None = None,
    resample: int | None = None, start_from: Sequence[str] = (), examples_from_runs: bool = False,
    run_id: str | None = None, runs_dir: str | Path | None = None, notify: Notify = _quiet,
    log: Notify = _quiet, algorithm: str | None = None,
) -> str:  # fmt: skip
    """Check the options, store a new run and return its id; nothing trains yet (``drive`` runs it)."""
    from autoreward.config import load_settings
    from autoreward.envs.make import check_card_env, with_algorithm
    from autoreward.llm import check_model
    from autoreward.local_llm.endpoint import default_to_local, is_local, prepare
    from autoreward.runs import create_run
    from autoreward.store import RunStore, check_run_id
    from autoreward.tasks import resolve_task

    card = resolve_task(str(task))  # a typo in the task is the first thing said, before any model is prepared
    check_card_env(card)
    card = with_algorithm(card, algorithm)  # stored with the run: resume, evaluate and export read it there
    if run_id is not None:
        check_run_id(run_id)
    for name, value, allowed in (("preference", preference, ("none", "synthetic", "human")),
                                 ("backend", backend, ("local", "ray"))):  # fmt: skip
        if value not in allowed:
            raise AutorewardError(f"--{name} {value!r} is not one of {', '.join(allowed)}")
    if backend == "ray":
        from autoreward.ray_backend import import_ray

        import_ray()  # without Ray installed, say how to install it before a run is created
    settings = load_settings(
        {"model": model, "api_base": api_base, "samples": samples, "temperature": temperature,
         "max_llm_cost": max_llm_cost, "max_llm_tokens": max_llm_tokens, "prompts_dir": prompts_dir,
         "resample": resample}
    )  # fmt: skip
    settings = default_to_local(settings, model or api_base, notify=notify)
    if prune and "samples" not in settings.model_fields_set:  # the compute halving saves buys more samples
        settings = settings.model_copy(update={"samples": SAMPLES_WITH_PRUNING})
    prepare(settings)  # the local model is assembled and verified before any run is created
    if not is_local(settings):
        check_model(settings)  # an unknown model is refused before a run exists that could never call it
    if llm_review is None:  # a 1.5B model's review rejects sound programs: the static + dry-run Critic remains
        llm_review = not is_local(settings)
    programs, verdicts = _checked_start(card, list(start_from), log)
    config = _validated(
        RunConfig,
        task=str(card.source) if card.source and str(task).endswith(".toml") else card.name,
        iterations=iterations, timesteps=timesteps, workers=workers, seed=seed, preference=preference,
        oracle_noise=oracle_noise, oracle_budget=oracle_budget, video=video, backend=backend,
        ray_address=ray_address, llm_review=llm_review, eval_episodes=eval_episodes, llm=settings,
        gpus_per_candidate=gpus_per_candidate, start_from=programs, examples_from_runs=examples_from_runs,
        prune=prune, prune_factor=prune_factor,
    )  # fmt: skip
    store = RunStore(runs_dir)
    try:
        return create_run(store, card, config, run_id, verdicts)
    finally:
        store.close()


def _validated(model: type[RunConfig], **values: Any) -> RunConfig:
    """``model(**values)``, with the first invalid option as one ``AutorewardError`` line (its name as an argument)."""
    from pydantic import ValidationError

    try:
        return model(**values)
    except ValidationError as err:
        first = err.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "options"
        raise AutorewardError(f"option {name}={first.get('input')!r}: {first['msg']}") from None


def _checked_start(card: TaskCard, values: list[str], log: Notify) -> tuple[list[Any], list[Any]]:
    """The programs to start from (the card's ``from``, then ``--from``), each accepted by the Critic, before
    a run is created or any LLM asked; a rejected one stops here with one line per reason."""
    from autoreward.critic import critique
    from autoreward.start import check_start_programs, start_programs
    from autoreward.training.hyperparams import learner_settings
    from autoreward.types import StartProgram

    programs = start_programs(card, values)

    def judge(program: StartProgram) -> Verdict:
        log(f"checking {program.origin} with the Critic")
        return critique(program.source or "", card, discount=learner_settings(card).gamma)

    return programs, check_start_programs(programs, judge)


def drive(
    run_id: str, *, runs_dir: str | Path | None = None, observer: LoopObserver | None = None,
    ask_ranking: AskRanking | None = None, notify: Notify = _quiet, serve_llm: bool = True,
    model: str | None = None, api_base: str | None = None,
) -> RunResult:  # fmt: skip
    """Run or resume a stored run to its end, then plot it and export its best program. ``serve_llm=False``
    starts no local model (a replay asks none). ``model`` / ``api_base`` switch the LLM of the calls still to
    come (stored answers are replayed as they are).

    Raises ``WaitingForPreference`` when a human-preference run needs a ranking (store one with
    ``autoreward prefer`` or the web page, then ``resume``), and an ``AutorewardError`` that says how to resume
    when the run stops on an error or an interrupt."""
    from autoreward.llm import LLMConfigError
    from autoreward.local_llm.endpoint import serving
    from autoreward.loop import Loop, ReplayMissing, WaitingForPreference
    from autoreward.observer import LoopObserver
    from autoreward.parts import default_parts
    from autoreward.runs import finish_run, run_notes, stored_card
    from autoreward.store import RunStore

    store = RunStore(runs_dir, create=False)
    try:
        config = RunConfig.model_validate(store.run(run_id).config)
        if model is not None or api_base is not None:
            config = _switch_model(store, run_id, config, model, api_base, notify)
        card = stored_card(store, run_id)
        observer = observer or LoopObserver()
        log_file = store.run_dir(run_id) / "local-llm.log"
        served = serving(config.llm, log_file=log_file, notify=notify) if serve_llm else contextlib.nullcontext()
        with store.driving(run_id):  # a second driver is refused before it touches the run
            try:
                with served as llm, observer:
                    loop = Loop(store, run_id, card, default_parts(config, card, ask_ranking), observer, llm)
                    outcome = loop.run()
            except WaitingForPreference:
                raise
            except ReplayMissing:
                store.set_run(run_id, status=RunStatus.STOPPED)
                raise
            except (AutorewardError, KeyboardInterrupt) as err:
                store.set_run(run_id, status=RunStatus.STOPPED)
                if isinstance(err, KeyboardInterrupt):
                    raise AutorewardError(
                        f"interrupted: `autoreward resume {run_id}` continues where it stopped"
                    ) from None
                how = "--model provider/model (or --api-base URL)" if isinstance(err, LLMConfigError) else ""
                raise AutorewardError(
                    f"{err} (run {run_id} is stored: `autoreward resume {run_id}{' ' + how if how else ''}` continues)"
                ) from None
            plot, exported = finish_run(store, run_id, card)
            rows = store.candidates(run_id)
            tables = [
                {"iteration": it, "candidates": [_row_data(r) for r in rows if r.iteration == it]}
                for it in sorted({r.iteration for r in rows})
            ]
            return RunResult(
                run_id=run_id, best_candidate=outcome.best_candidate, best_fitness=outcome.best_fitness,
                success=outcome.success, iterations_done=outcome.iterations_done, exported=exported, plot=plot,
                note=run_notes(store, run_id), iterations=tables,
            )  # fmt: skip
    finally:
        store.close()


def _switch_model(
    store: RunStore, run_id: str, config: RunConfig, model: str | None, api_base: str | None, notify: Notify
) -> RunConfig:  # fmt: skip
    """The run's settings with another model / endpoint for its coming LLM calls, checked, then stored."""
    from autoreward.llm import check_model
    from autoreward.local_llm.endpoint import is_local, prepare

    update = {k: v for k, v in (("model", model), ("api_base", api_base)) if v is not None}
    llm = config.llm.model_copy(update=update)
    if llm == config.llm:
        return config
    prepare(llm)
    if not is_local(llm):
        check_model(llm)
    switched = config.model_copy(update={"llm": llm})
    store.set_config(run_id, switched.model_dump(mode="json"))
    notify(f"run {run_id} continues with {llm.model}" + (f" at {llm.api_base}" if llm.api_base else ""))
    return switched


def _row_data(row: CandidateRow) -> dict[str, Any]:
    return {
        "id": row.id, "name": row.name, "status": str(row.status), "fitness": row.fitness,
        "success_rate": row.success_rate, "origin": row.origin,
        "reasons": row.failure_reasons() if row.status in (Status.REJECTED, Status.FAILED) else [],
    }  # fmt: skip


def run(
    task: str | Path, *, observer: LoopObserver | None = None, ask_ranking: AskRanking | None = None,
    notify: Notify = _quiet, **options: Any,
) -> RunResult:  # fmt: skip
    """The full loop (``autoreward run``): design, check, train, judge and revise reward programs, then export
    the best. ``options`` are :func:`start_run`'s (``model``, ``iterations``, ``samples``, ``timesteps``,
    ``runs_dir``, ``preference``, ``backend``, ...); progress goes to ``observer`` (none: quiet)."""
    unknown = sorted(set(options) - set(inspect.signature(start_run).parameters))
    if unknown:
        known = [name for name in inspect.signature(start_run).parameters if name != "task"]
        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise AutorewardError(f"run() has no option {unknown[0]!r}: {hint}the options are {', '.join(known)}")
    run_id = start_run(task, notify=notify, **options)
    return drive(run_id, runs_dir=options.get("runs_dir"), observer=observer, ask_ranking=ask_ranking, notify=notify)


def resume(
    run_id: str, *, runs_dir: str | Path | None = None, observer: LoopObserver | None = None,
    ask_ranking: AskRanking | None = None, notify: Notify = _quiet, model: str | None = None,
    api_base: str | None = None,
) -> RunResult:  # fmt: skip
    """Continue a killed or stopped run from its first unfinished stage (``autoreward resume``); ``model`` /
    ``api_base`` switch the LLM of its coming calls."""
    return drive(
        run_id, runs_dir=runs_dir, observer=observer, ask_ranking=ask_ranking, notify=notify, model=model,
        api_base=api_base,
    )  # fmt: skip


def load_run(run_id: str, runs_dir: str | Path | None = None) -> StoredRun:
    """A stored run with its candidates, their code, training results and the Analyzer's reports."""
    from autoreward.store import RunStore

    store = RunStore(runs_dir, create=False)
    try:
        run_record = store.run(run_id)
        rows = store.candidates(run_id)
        analyses = {it: store.analysis(run_id, it) for it in sorted({r.iteration for r in rows})}
        return StoredRun(
            run=run_record, summary=store.summary(run_record), candidates=rows,
            sources={r.id: store.source(r.id) for r in rows}, analyses=analyses, best=store.best(run_id),
        )  # fmt: skip
    finally:
        store.close()


def export(run_id: str, output: str | Path | None = None, runs_dir: str | Path | None = None) -> Path:
    """Write the run's best program as one standalone file (``autoreward export``); returns its path."""
    from autoreward.runs import export_best
    from autoreward.store import RunStore

    store = RunStore(runs_dir, create=False)
    try:
        return export_best(store, run_id, Path(output) if output is not None else None)
    finally:
        store.close()


# --- training with a generated reward in your own script ----------------------------------------------------------


class RewardWrapper:
    """Wraps a gymnasium env so that it trains with a generated reward: the exported file's wrapper, whose
    per-step reward equals the one used in the run's training.

    ``RewardWrapper.from_run(run_id)`` makes the run's env (or wraps ``env``); ``RewardWrapper.from_file(path,
    env)`` wraps ``env`` with an exported file's reward. The program runs in your process, as when you import
    the exported file yourself, and only after it passed the reward allow-list (``autoreward.reward.allowlist``)."""

    @staticmethod
    def from_file(path: str | Path, env: gymnasium.Env) -> gymnasium.Wrapper:
        """``env`` with the reward of an exported file (``autoreward export``)."""
        path = Path(path)
        if not path.is_file():
            raise AutorewardError(f"no exported reward file {path}: write one with `autoreward export RUN_ID`")
        from autoreward.export import check_exported

        check_exported(path)  # the program passes the allow-list before any code of the file runs
        spec = importlib.util.spec_from_file_location(f"autoreward_exported_{uuid.uuid4().hex}", path)
        if spec is None or spec.loader is None:
            raise AutorewardError(f"{path} cannot be loaded as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up while it loads
        spec.loader.exec_module(module)
        wrapper = getattr(module, "RewardWrapper", None)
        if wrapper is None:
            raise AutorewardError(f"{path} defines no RewardWrapper: is it a file `autoreward export` wrote?")
        return wrapper(env)

    @classmethod
    def from_run(
        cls, run_id: str, env: gymnasium.Env | None = None, *, runs_dir: str | Path | None = None
    ) -> gymnasium.Wrapper:
        """The run's best reward around ``env`` (default: the run's task env, as its card makes it)."""
        from autoreward.envs.make import make_card_env
        from autoreward.runs import export_best, stored_card
        from autoreward.store import RunStore

        store = RunStore(runs_dir)
        try:
            path = export_best(store, run_id)  # written afresh: a file an older autoreward wrote is not trusted
            card = stored_card(store, run_id)
        finally:
            store.close()
        return cls.from_file(path, env if env is not None else make_card_env(card))


def new_card(
    env_id: str, intent: str, *, model: str | None = None, api_base: str | None = None, module: str | None = None,
    write: Path | None = None, notify: Notify = _quiet,
) -> tuple[str, str]:  # fmt: skip
    """A checked task card for ``env_id`` from one sentence (``autoreward new``): the model's settings come as for
    ``run``; returns (the card's TOML, its fitness in words), written to ``write`` where given. Starts no run."""
    from autoreward.config import load_settings
    from autoreward.llm import check_model
    from autoreward.local_llm.endpoint import default_to_local, is_local, prepare
    from autoreward.newcard import new_card as draft_card

    if write is not None and write.exists():
        raise AutorewardError(f"{write} exists already: choose another path for --write, or remove it")
    settings = load_settings({"model": model, "api_base": api_base})
    settings = default_to_local(settings, model or api_base, notify=notify)
    prepare(settings)
    if not is_local(settings):
        check_model(settings)
    card, text = draft_card(env_id, intent, settings, module=module, card_dir=write.parent if write else None)
    if write is not None:
        write.write_text(text, encoding="utf-8")
    return text, f"{card.fitness_text}, success at {card.success_threshold:g}"
