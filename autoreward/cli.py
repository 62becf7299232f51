"""The ``autoreward`` command line: a thin typer layer; the work lives in the modules it calls."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from autoreward.errors import AutorewardError, TaskError
from autoreward.runconfig import EVAL_EPISODES, ITERATIONS, SAMPLES_WITH_PRUNING
from autoreward.sanitize import clean, plural

stdout = Console()
stderr = Console(stderr=True)


class _FriendlyGroup(TyperGroup):
    """Turns an AutorewardError from any command into one line on stderr and exit code 2, no traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except AutorewardError as err:
            stderr.print(Text.assemble(("error: ", "bold red"), str(err)), highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None


app = typer.Typer(
    cls=_FriendlyGroup,
    help="An LLM writes the reward program; autoreward checks, trains, judges and improves it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from autoreward import __version__

        typer.echo(f"autoreward {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """An LLM writes the reward program; autoreward checks, trains, judges and improves it."""


JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


@app.command()
def tasks(as_json: JsonFlag = False) -> None:
    """List the catalog's tasks: name, env id, intent, fitness."""
    from autoreward.api import tasks as catalog_cards

    cards = catalog_cards()
    if as_json:
        typer.echo(json.dumps([card.model_dump(mode="json") for card in cards], indent=2))
        return
    table = Table(title=f"{len(cards)} tasks", show_lines=False)
    table.add_column("task", no_wrap=True)
    table.add_column("env id", overflow="fold", ratio=1)
    table.add_column("fitness", overflow="fold", ratio=1)
    table.add_column("intent", ratio=2)
    for card in cards:
        table.add_row(card.name, card.env_id, card.fitness_text, card.intent)
    stdout.print(table)


@app.command()
def describe(
    task: Annotated[str | None, typer.Argument(help="A catalog task name or a path to a card (.toml).")] = None,
    steps: Annotated[int, typer.Option(min=1, help="Random steps used to measure field ranges.")] = 300,
    seed: Annotated[int, typer.Option(help="Seed of the random rollout.")] = 0,
    prompts: Annotated[Path | None, typer.Option(help="A directory of your own prompt templates.")] = None,
    metrics: Annotated[bool, typer.Option("--metrics", help="List the library's fitness metrics.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Print the environment description the LLM sees (and its size in tokens, on stderr)."""
    from autoreward.envs.fitness import METRICS

    if metrics:
        table = Table(title='fitness metrics (use as fitness = "NAME" in a card)')
        for column in ("metric", "per-step expression", "reduce", "meaning"):
            table.add_column(column, overflow="fold")
        for name, spec in METRICS.items():
            table.add_row(name, spec.expr, spec.reduce, spec.doc)
        stdout.print(table)
        return
    if task is None:
        raise AutorewardError("describe needs a TASK (a name from `autoreward tasks` or a card path), or --metrics")

    from autoreward.describe import describe as build
    from autoreward.tasks import resolve_task

    card = resolve_task(task)
    broken: TaskError | None = None
    try:
        description = build(card, steps=steps, seed=seed)
    except TaskError as err:  # a fitness over a missing field: show the fields it can read, then fail
        broken = err
        description = build(card, steps=steps, seed=seed, check_fitness=False)
    text = description.render(prompts)
    tokens = description.tokens(prompts)
    if as_json:
        typer.echo(json.dumps({**description.model_dump(mode="json"), "text": text, "tokens": tokens}, indent=2))
        return
    typer.echo(text, nl=False)
    if broken is not None:
        raise broken
    stderr.print(f"[dim]{tokens} tokens (o200k_base); fitness of {card.name}: {card.fitness_text}[/]")


@app.command()
def check(
    file: Annotated[Path, typer.Argument(help="The reward program (.py) to judge.")],
    task: Annotated[str, typer.Option("--task", "-t", help="A catalog task name or a path to a card (.toml).")],
    no_llm_review: Annotated[
        bool, typer.Option("--no-llm-review", help="Skip the LLM review (it also skips when no model is set).")
    ] = False,
    steps: Annotated[int, typer.Option(min=10, help="Transitions of the sandboxed dry run.")] = 300,
    as_json: JsonFlag = False,
) -> None:
    """The Critic on one reward file: exit 0 accepted (warnings printed), exit 1 rejected, one line per reason."""
    from autoreward.api import check as judge

    def skipped(text: str) -> None:
        stderr.print(f"[dim]{text}[/]", highlight=False)

    verdict = judge(file, task, llm_review=False if no_llm_review else None, steps=steps, notify=skipped)
    if as_json:
        typer.echo(json.dumps({"file": str(file), "accepted": verdict.accepted, **verdict.model_dump(mode="json")}))
        raise typer.Exit(0 if verdict.accepted else 1)
    for reason in verdict.reasons:
        style = "red" if reason.severity == "error" else "yellow"
        stdout.print(Text.assemble((f"{reason.severity}: ", style), f"{file}: {reason}"), soft_wrap=True)
    ran = ", ".join(verdict.stages_run)
    if not verdict.accepted:
        errors = plural(len(verdict.errors), "error")
        stderr.print(f"[red]rejected[/] ({errors}; stages run: {ran}; {verdict.seconds:.2f} s)")
        raise typer.Exit(1)
    stderr.print(f"[green]accepted[/] (stages run: {ran}; {verdict.seconds:.2f} s)")


@app.command()
def plan(
    task: Annotated[str, typer.Argument(help="A catalog task name or a path to a card (.toml).")],
    model: Annotated[
        str | None, typer.Option(help="Also ask this model (any litellm string, or local) for plans.")
    ] = None,
    api_base: Annotated[str | None, typer.Option(help="An OpenAI-compatible endpoint for --model.")] = None,
) -> None:
    """The stages of a sparse task, checked on the env's solving paths: the accepted plan as [[subgoals]] tables
    to keep in the card (stdout), every plan considered and its verdict (stderr). Exit 1: none passed."""
    from autoreward.api import plan as find

    plans = find(task, model=model, api_base=api_base, notify=lambda text: stderr.print(text, markup=False))
    for considered in plans:
        stderr.print(considered.line, markup=False, highlight=False, soft_wrap=True)
    chosen = next((p for p in plans if p.accepted), None)
    if chosen is None:
        why = "no plan passed the checks" if plans else "no plan found (no solving paths to search, no card hints)"
        hint = "" if model else "give --model to ask an LLM, or "
        fix = f"{hint}write the card's [[subgoals]] by hand (README: task cards)"
        stderr.print(f"{why}: {fix}", markup=False, soft_wrap=True)
        raise typer.Exit(1)
    header = f"# the {chosen.origin} plan, checked on the env's solving paths and rollouts"
    typer.echo(f"{header}\n{chosen.toml()}", nl=False)


RunsDir = Annotated[
    Path | None,
    typer.Option("--runs-dir", envvar="AUTOREWARD_RUNS_DIR", help="Where runs are stored (default ./autoreward-runs)."),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Plain log lines instead of the live table.")]
Algorithm = Annotated[
    str | None,
    typer.Option(help="The learner: ppo, sac, td3, a2c or dqn (default: the card's algorithm, else ppo)."),
]


@app.command()
def run(
    task: Annotated[str, typer.Argument(help="A catalog task name or a path to a card (.toml).")],
    model: Annotated[str | None, typer.Option(help="Any litellm model string (env: AUTOREWARD_MODEL).")] = None,
    api_base: Annotated[
        str | None, typer.Option(help="An OpenAI-compatible endpoint (env: AUTOREWARD_API_BASE).")
    ] = None,
    iterations: Annotated[int, typer.Option(min=1, help="Design-train-judge rounds.")] = ITERATIONS,
    samples: Annotated[
        int | None,
        typer.Option(
            min=1, help=f"K programs asked for per iteration (default {SAMPLES_WITH_PRUNING} with --prune, else 4)."
        ),
    ] = None,
    timesteps: Annotated[
        int | None, typer.Option(min=1, help="Training budget per candidate (default: the card's).")
    ] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Candidates trained at once (default: cores).")] = None,
    seed: Annotated[int, typer.Option(help="Base seed of descriptions, training and evaluation.")] = 0,
    preference: Annotated[
        Literal["none", "synthetic", "human"], typer.Option(help="Who ranks each iteration's policies.")
    ] = "none",
    oracle_noise: Annotated[
        float, typer.Option(min=0.0, help="Noise of the synthetic oracle's fitness comparisons.")
    ] = 0.0,
    oracle_budget: Annotated[int | None, typer.Option(min=1, help="Comparisons the synthetic oracle may make.")] = None,
    video: Annotated[bool, typer.Option("--video/--no-video", help="Film each trained policy.")] = True,
    backend: Annotated[Literal["local", "ray"], typer.Option(help="Where candidates train.")] = "local",
    ray_address: Annotated[str | None, typer.Option(help="A Ray cluster to join (with --backend ray).")] = None,
    gpus_per_candidate: Annotated[
        float, typer.Option(min=0.0, help="GPUs Ray reserves for each candidate (with --backend ray).")
    ] = 0.0,
    llm_review: Annotated[
        bool | None,
        typer.Option(
            "--llm-review/--no-llm-review",
            help="Let the LLM review each program (default: on; off for the embedded model, whose reviews are noise).",
        ),
    ] = None,
    eval_episodes: Annotated[int, typer.Option(min=1, help="Evaluation episodes per trained policy.")] = EVAL_EPISODES,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune/--no-prune",
            help="Successive halving on true fitness: cut candidates that trail at 1/9 and 1/3 of the budget "
            f"(default samples then {SAMPLES_WITH_PRUNING}).",
        ),
    ] = True,
    prune_factor: Annotated[int, typer.Option(min=2, help="Keep the top 1/factor of candidates at each rung.")] = 3,
    temperature: Annotated[float | None, typer.Option(help="Sampling temperature of the Designer.")] = None,
    max_llm_cost: Annotated[float | None, typer.Option(help="Stop before LLM spend passes this many USD.")] = None,
    max_llm_tokens: Annotated[int | None, typer.Option(help="Stop before LLM tokens pass this many.")] = None,
    prompts: Annotated[Path | None, typer.Option(help="A directory of your own prompt templates.")] = None,
    resample: Annotated[
        int | None, typer.Option(min=0, max=16, help="Rounds of replacements for rejected programs (local: 3).")
    ] = None,
    start_from: Annotated[
        list[str] | None,
        typer.Option(
            "--from",
            metavar="FILE|builtin",
            help="A reward program to start from (repeatable): it is checked, trained in iteration 1 beside the "
            "LLM's and shown to it as the program to improve. 'builtin': the env's own reward, as a yardstick.",
        ),
    ] = None,
    examples_from_runs: Annotated[
        bool,
        typer.Option(
            "--examples-from-runs",
            help="Show the LLM the best programs of earlier runs on the same env (at most two, with their fitness).",
        ),
    ] = False,
    run_id: Annotated[str | None, typer.Option(help="Name of the run (default: TASK-DATE-TIME).")] = None,
    algorithm: Algorithm = None,
    runs_dir: RunsDir = None,
    quiet: Quiet = False,
) -> None:
    """The full loop: design, check, train, judge and revise reward programs; export the best."""
    from autoreward.api import start_run
    from autoreward.store import runs_root

    def checking(text: str) -> None:
        stderr.print(text, highlight=False, soft_wrap=True)

    new_id = start_run(
        task, model=model, api_base=api_base, iterations=iterations, samples=samples, timesteps=timesteps,
        workers=workers, seed=seed, preference=preference, oracle_noise=oracle_noise,
        oracle_budget=oracle_budget, video=video, backend=backend, ray_address=ray_address,
        gpus_per_candidate=gpus_per_candidate, llm_review=llm_review, eval_episodes=eval_episodes, prune=prune,
        prune_factor=prune_factor, temperature=temperature, max_llm_cost=max_llm_cost,
        max_llm_tokens=max_llm_tokens, prompts_dir=prompts, resample=resample, start_from=start_from or [],
        examples_from_runs=examples_from_runs, run_id=run_id, runs_dir=runs_dir, notify=_notice, log=checking,
        algorithm=algorithm,
    )  # fmt: skip
    stderr.print(f"run [bold]{new_id}[/] in {runs_root(runs_dir) / new_id}", highlight=False)
    _drive(runs_dir, new_id, quiet)


@app.command()
def resume(
    run_id: Annotated[str, typer.Argument(help="The run to continue (see `autoreward runs`).")],
    model: Annotated[str | None, typer.Option(help="Another litellm model string for the calls still to come.")] = None,
    api_base: Annotated[str | None, typer.Option(help="Another OpenAI-compatible endpoint for them.")] = None,
    runs_dir: RunsDir = None,
    quiet: Quiet = False,
) -> None:
    """Continue a killed or stopped run from its first unfinished stage."""
    from autoreward.store import RunStatus, RunStore

    if RunStore(runs_dir, create=False).run(run_id).status == RunStatus.FINISHED:
        stderr.print(f"run {run_id} is already finished", highlight=False)
    _drive(runs_dir, run_id, quiet, model=model, api_base=api_base)


@app.command()
def replay(
    run_id: Annotated[str, typer.Argument(help="The stored run whose LLM answers to replay.")],
    new_id: Annotated[
        str | None, typer.Option("--run-id", help="Name of the replay (default: RUN_ID-replay-DATE).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Another base seed for training and evaluation.")] = None,
    runs_dir: RunsDir = None,
    quiet: Quiet = False,
) -> None:
    """Re-run a stored run from its stored LLM answers (designs, reviews, re-samples), asking the LLM nothing."""
    from autoreward.replay import start_replay
    from autoreward.store import RunStore

    store = RunStore(runs_dir, create=False)
    replay_id = start_replay(store, run_id, new_id, seed)
    answers = len(store.llm_calls(replay_id))
    stderr.print(f"replay [bold]{replay_id}[/] of {run_id}: {answers} stored LLM answers, no LLM call", highlight=False)
    _drive(runs_dir, replay_id, quiet, serve_llm=False)  # no model is served: the replay never asks one


def _notice(text: str) -> None:
    stderr.print(Text.assemble(("note: ", "bold"), text), highlight=False, soft_wrap=True)


def _drive(
    runs_dir: Path | None,
    run_id: str,
    quiet: bool,
    *,
    serve_llm: bool = True,
    model: str | None = None,
    api_base: str | None = None,
) -> None:
    """Run or resume the loop with the live view, then print the best fitness, the run id and the export."""
    from autoreward.api import drive
    from autoreward.live import LiveObserver, PlainObserver
    from autoreward.loop import WaitingForPreference
    from autoreward.runs import no_trained_candidate
    from autoreward.store import RunStore

    store = RunStore(runs_dir, create=False)
    run = store.run(run_id)
    quiet = quiet or not stdout.is_terminal
    observer = PlainObserver(stderr) if quiet else LiveObserver(stderr, run.config["iterations"])
    ask = _terminal_ranking(store, run_id, observer) if sys.stdin.isatty() and not quiet else None
    try:
        result = drive(
            run_id, runs_dir=runs_dir, observer=observer, ask_ranking=ask, notify=_notice, serve_llm=serve_llm,
            model=model, api_base=api_base,
        )  # fmt: skip
    except WaitingForPreference as waiting:
        stderr.print(str(waiting), highlight=False, soft_wrap=True)
        return
    if result.note:
        _notice(result.note)
    best = "none" if result.best_fitness is None else f"{result.best_fitness:.4g}"
    typer.echo(f"best fitness: {best} ({result.best_candidate or 'no trained candidate'})")
    typer.echo(f"run: {run_id}")
    exported = (
        result.exported or f"nothing (no program was trained, or it fails the allow-list: `autoreward export {run_id}`)"
    )
    typer.echo(f"exported: {exported}")
    if result.plot:
        typer.echo(f"plot: {result.plot}")
    if result.best_candidate is None:
        stderr.print(Text.assemble(("error: ", "bold red"), no_trained_candidate(run_id)), soft_wrap=True)
        raise typer.Exit(1)


def _terminal_ranking(store: Any, run_id: str, observer: Any) -> Any:
    """Ask the person at the terminal to rank an iteration's policies, with the live view paused."""

    def ask(iteration: int, rows: list[Any]) -> list[str]:
        with observer.paused():
            return _rank_in_terminal(store, run_id, iteration, rows)

    return ask


def _rank_in_terminal(store: Any, run_id: str, iteration: int, rows: list[Any]) -> list[str]:
    from autoreward.preference import parse_ranking

    table = Table(title=f"{run_id}: rank the policies of iteration {iteration + 1} (best first)")
    for column in ("#", "candidate", "fitness", "success", "video"):
        table.add_column(column, overflow="fold")
    for number, row in enumerate(rows, start=1):
        video = row.trained.artifacts.get("video") if row.trained else None
        success = row.success_rate
        table.add_row(
            str(number), row.name, f"{row.fitness:.4g}" if row.fitness is not None else "-",
            "-" if success is None else f"{success:.0%}", str(store.candidate_dir(row) / video) if video else "-",
        )  # fmt: skip
    stderr.print(table)
    labels = [row.id for row in rows]
    while True:
        answer = typer.prompt("ranking, best first (e.g. 2 1 3)")
        try:
            return parse_ranking(answer, labels)
        except AutorewardError as err:
            stderr.print(f"[red]{err}[/]", highlight=False)


@app.command()
def prefer(
    run_id: Annotated[str, typer.Argument(help="The run whose latest iteration you rank.")],
    ranking: Annotated[str | None, typer.Option(help="The order, best first (e.g. '2 1 3'); asked if omitted.")] = None,
    runs_dir: RunsDir = None,
) -> None:
    """A preference session in the terminal: rank the latest iteration's policies."""
    from autoreward.preference import check_rankable_run, parse_ranking, rankable, store_ranking
    from autoreward.store import RunStore

    store = RunStore(runs_dir, create=False)
    check_rankable_run(store, run_id)
    target = rankable(store, run_id)
    if target is None:
        raise AutorewardError(f"run {run_id} has no trained policy to rank yet")
    iteration, trained = target
    if ranking is None:
        order = _rank_in_terminal(store, run_id, iteration, trained)
    else:
        order = parse_ranking(ranking, [r.id for r in trained])
    store_ranking(store, run_id, order, iteration)
    typer.echo(f"ranking of iteration {iteration + 1} stored; `autoreward resume {run_id}` continues the run")


@app.command()
def runs(as_json: JsonFlag = False, runs_dir: RunsDir = None) -> None:
    """List stored runs."""
    from autoreward.store import RunStore

    store = RunStore(runs_dir, create=False)
    rows = store.runs()
    if as_json:
        typer.echo(json.dumps([store.summary(r).model_dump(mode="json") for r in rows], indent=2))
        return
    table = Table(title=f"{len(rows)} runs in {store.root}")
    for column in ("run", "task", "status", "iterations", "best fitness"):
        table.add_column(column, overflow="fold")
    for r in rows:
        summary = store.summary(r)
        best = summary.best_fitness
        table.add_row(r.id, r.task, r.status, str(summary.iterations), "-" if best is None else f"{best:.4g}")
    stdout.print(table)


@app.command()
def show(
    run_id: Annotated[str, typer.Argument(help="The run (or RUN/CANDIDATE, e.g. RUN/it00-c01) to show.")],
    as_json: JsonFlag = False,
    runs_dir: RunsDir = None,
) -> None:
    """One run's iterations, candidates, verdicts, fitness and provenance (or one evaluation's table, or one
    candidate's verdict and code)."""
    from autoreward.analyzer import hacking_flag
    from autoreward.plan import Plan
    from autoreward.provenance import provenance_lines
    from autoreward.store import RunStore

    store = RunStore(runs_dir, create=False)
    if "/" in run_id:
        _show_candidate(store, run_id, as_json)
        return
    if store.has_evaluation(run_id):
        _show_evaluation(store, run_id, as_json)
        return
    run = store.run(run_id)
    candidates = store.candidates(run_id)
    usage = store.llm_usage(run_id)
    if as_json:
        data = {
            **store.summary(run).model_dump(mode="json"), "config": run.config, "meta": run.meta,
            "llm_usage": usage,
            "candidates": [{**vars(c), "reward_hacking": hacking_flag(c.result)} for c in candidates],
        }  # fmt: skip
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    best = "-" if run.best_fitness is None else f"{run.best_fitness:.4g}"
    stdout.print(f"[bold]{run.id}[/] {run.task} ({run.status}), best fitness {best}", highlight=False)
    for stored in store.stage(run_id, 0, "plans") or []:
        stdout.print(Plan.model_validate(stored).line, markup=False, highlight=False, soft_wrap=True)
    for iteration in sorted({c.iteration for c in candidates}):
        spent = usage.get(iteration, {})
        table = Table(title=f"iteration {iteration + 1}: {spent.get('tokens_in', 0)} tokens in, "
                      f"{spent.get('tokens_out', 0)} out, ${spent.get('cost', 0) or 0:.4f}")  # fmt: skip
        for column in ("candidate", "status", "fitness", "verdict"):
            table.add_column(column, overflow="fold")
        for c in (c for c in candidates if c.iteration == iteration):
            fitness = "-" if c.fitness is None else f"{c.fitness:.4g}"
            flag = hacking_flag(c.result)
            verdict = c.verdict_line() + (f"; {flag}" if flag else "")
            kept = (c.result or {}).get("kept_timesteps")
            status = c.status + (f", policy of step {kept}" if isinstance(kept, int) else "")  # training/snapshot.py
            table.add_row(Text(c.display_name), status, fitness, Text(verdict))  # a worker's text: never markup
        stdout.print(table)
    for line in provenance_lines(run.meta.get("provenance", {})):
        stdout.print(line, highlight=False, soft_wrap=True)


def _show_candidate(store: Any, candidate_id: str, as_json: bool) -> None:
    """One candidate: status, fitness, every reason of its verdict, and its program."""
    row = store.candidate(candidate_id)
    source = store.source(row.id)
    if as_json:
        typer.echo(json.dumps({**vars(row), "source": source}, indent=2, default=str))
        return
    fitness = "-" if row.fitness is None else f"{row.fitness:.4g}"
    stdout.print(Text(f"{row.id}: {row.status}, fitness {fitness}; {row.verdict_line()}"), soft_wrap=True)
    for reason in row.checked.reasons if row.checked else []:
        stdout.print(Text(f"  {reason.severity}: {reason}"), soft_wrap=True)
    if source:
        stdout.print(Text(source), soft_wrap=True)


def _show_evaluation(store: Any, evaluation_id: str, as_json: bool) -> None:
    from autoreward.evidence import summarize_evaluation
    from autoreward.provenance import provenance_lines

    summary = summarize_evaluation(store, evaluation_id)
    if as_json:
        typer.echo(summary.model_dump_json(indent=2))
        return
    _print_evaluation(summary)
    for line in provenance_lines(summary.provenance):
        stdout.print(line, highlight=False, soft_wrap=True)


@app.command()
def evaluate(
    targets: Annotated[
        list[str], typer.Argument(help="RUN_ID (its best program), RUN_ID/CANDIDATE or a reward FILE.py.")
    ],
    task: Annotated[
        str | None, typer.Option("--task", "-t", help="The task (needed for a file; a run knows its own).")
    ] = None,
    seeds: Annotated[int, typer.Option(min=1, help="Fresh training seeds per method.")] = 5,
    timesteps: Annotated[int | None, typer.Option(min=1, help="Training budget (default: the card's).")] = None,
    episodes: Annotated[
        int, typer.Option("--eval-episodes", "--episodes", min=1, help="Fresh evaluation episodes per trained policy.")
    ] = 10,
    baseline: Annotated[
        list[str] | None, typer.Option(help="builtin (the env's own reward) or a reward file; repeatable.")
    ] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Trainings at once (default: cores).")] = None,
    backend: Annotated[Literal["local", "ray"], typer.Option(help="Where the seeds train.")] = "local",
    ray_address: Annotated[str | None, typer.Option(help="A Ray cluster to join (with --backend ray).")] = None,
    algorithm: Algorithm = None,
    as_json: JsonFlag = False,
    runs_dir: RunsDir = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No per-training progress lines.")] = False,
) -> None:
    """Retrain on fresh seeds and judge by the task's true fitness: mean, IQM and 95% CIs (rliable) vs baselines.

    The same command again resumes an interrupted evaluation: finished seeds are kept."""
    from autoreward.evaluation import run_evaluation
    from autoreward.evaluation_plan import plan
    from autoreward.evidence import summarize_evaluation, write_plots
    from autoreward.provenance import provenance
    from autoreward.store import RunStore

    store = RunStore(runs_dir)
    spec, card = plan(store, targets, task, baseline or [], seeds, timesteps, episodes, algorithm=algorithm)
    evaluation_id = spec.evaluation_id(card)
    store.create_evaluation(
        evaluation_id, card.name, spec.model_dump(mode="json"),
        {"provenance": provenance(seeds=spec.seeds, prompts=False)},
    )  # fmt: skip
    done = len(store.seed_results(evaluation_id))
    total = len(spec.methods) * len(spec.seeds)
    stderr.print(f"evaluation [bold]{evaluation_id}[/]: {done} of {total} trainings stored", highlight=False)
    try:
        run_evaluation(
            store, evaluation_id, _train_one(backend, ray_address), workers,
            on_event=None if quiet else _progress_printer(), on_stored=_seed_printer(),
        )  # fmt: skip
    except KeyboardInterrupt:
        message = f"interrupted: the same command resumes {evaluation_id} (finished seeds are kept)"
        raise AutorewardError(message) from None
    summary = summarize_evaluation(store, evaluation_id)
    summary.plots = write_plots(store, summary)
    if as_json:
        typer.echo(summary.model_dump_json(indent=2))
        return
    _print_evaluation(summary)


def _train_one(backend: str, ray_address: str | None) -> Any:
    if backend == "ray":
        from autoreward.ray_backend import RayTrainer, import_ray

        import_ray()
        return RayTrainer(ray_address)
    from autoreward.training.sandboxed import train_in_sandbox

    return train_in_sandbox


def _progress_printer() -> Any:
    from autoreward.training.parallel import events_printer

    return events_printer(sys.stderr)


def _seed_printer() -> Any:
    def show(row: Any) -> None:
        fitness = "-" if row.fitness is None else f"{row.fitness:.4g}"
        stderr.print(f"stored {row.method} seed {row.seed}: {row.status}, fitness {fitness}", highlight=False)

    return show


def _print_evaluation(summary: Any) -> None:
    from autoreward.evidence import table_rows

    rows = table_rows(summary)
    budget = f"{summary.timesteps} steps" if summary.timesteps else "the card's budget"
    table = Table(title=f"{summary.task}: {len(summary.seeds)} seeds x {budget}, {summary.episodes} episodes each")
    for column in rows[0] if rows else ("method",):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row.values())
    stdout.print(table)
    for line in summary.failures:
        stderr.print(Text.assemble(("failed: ", "red"), line), highlight=False, soft_wrap=True)
    if summary.small_sample:
        stderr.print(Text.assemble(("warning: ", "bold yellow"), summary.small_sample), soft_wrap=True)
    typer.echo(f"evaluation: {summary.id}")
    for name, path in summary.plots.items():
        typer.echo(f"{name}: {path}")


@app.command()
def report(
    ids: Annotated[list[str], typer.Argument(help="Run ids and/or evaluation ids (a run brings its evaluations).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The markdown file (the PNG goes beside it).")] = Path(
        "report.md"
    ),
    runs_dir: RunsDir = None,
) -> None:
    """Markdown + PNG: task x method x seeds with 95% CIs, normalised scores, models, budgets, program links."""
    from autoreward.report import write_report
    from autoreward.store import RunStore

    markdown, png = write_report(RunStore(runs_dir, create=False), ids, output)
    typer.echo(str(markdown))
    if png is not None:
        typer.echo(str(png))


@app.command()
def new(
    env_id: Annotated[str, typer.Argument(help="A registered gymnasium env id (with --module: your own).")],
    intent: Annotated[str, typer.Argument(help="One sentence: the behaviour you want.")],
    write: Annotated[Path | None, typer.Option(help="Write the card to this file (default: print it).")] = None,
    module: Annotated[
        str | None, typer.Option(help="Your env's module: a name, or a .py path relative to the card.")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Any litellm model string [env: AUTOREWARD_MODEL].")] = None,
    api_base: Annotated[
        str | None, typer.Option(help="An OpenAI-compatible endpoint [env: AUTOREWARD_API_BASE].")
    ] = None,
) -> None:
    """A task card from one sentence: the model proposes the fitness, threshold and budget; they are checked on
    the env (random play must not already succeed) and shown. Read the fitness before you run it."""
    from autoreward.api import new_card

    text, fitness = new_card(env_id, intent, model=model, api_base=api_base, module=module, write=write,
                             notify=_notice)  # fmt: skip
    stderr.print(f"fitness: {clean(fitness, one_line=True)}", highlight=False, markup=False)
    if write is None:
        typer.echo(text, nl=False)
    else:
        stderr.print(f"card written to {write}: `autoreward run {write}` starts a run", highlight=False, markup=False)


@app.command()
def export(
    run_id: Annotated[str, typer.Argument(help="The run whose best program to export.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Where to write the .py file.")] = None,
    as_json: JsonFlag = False,
    runs_dir: RunsDir = None,
) -> None:
    """Write the best program as one standalone file (program + State builder + gymnasium Wrapper)."""
    from autoreward.runs import export_best, run_notes
    from autoreward.store import RunStore

    store = RunStore(runs_dir, create=False)
    path = export_best(store, run_id, output)
    note = run_notes(store, run_id)
    if as_json:
        typer.echo(json.dumps({"run": run_id, "exported": str(path), "note": note}, indent=2))
        return
    if note:
        _notice(note)
    typer.echo(str(path))


@app.command()
def serve(
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free port).")] = 8765,
    runs_dir: Annotated[
        Path | None, typer.Option(help="Run store root (default: AUTOREWARD_RUNS_DIR, ./autoreward-runs).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on; anything but loopback needs --token.")] = "127.0.0.1",
    token: Annotated[
        str | None, typer.Option(help="Token every request must carry ('auto': generate one and print it).")
    ] = None,
) -> None:
    """The web page (on 127.0.0.1 by default): runs, code, curves, videos and the preference ranking."""
    from autoreward.store import runs_root
    from autoreward.web.access import serve_token
    from autoreward.web.server import bind, server, url

    required = serve_token(host, token)
    root = runs_root(runs_dir)
    sock = bind(port, host)
    address = url(sock) + (f"?token={required}" if required else "")
    stdout.print(f"autoreward serves {root} at {address} (Ctrl-C stops)", highlight=False, soft_wrap=True)
    server(root, sock, required).run(sockets=[sock])


def main() -> None:
    app(prog_name="autoreward")


if __name__ == "__main__":
    sys.exit(main())
