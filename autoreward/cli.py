"""The ``autoreward`` command line: a thin typer layer; the work lives in the modules it calls."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from autoreward.errors import AutorewardError

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
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


@app.command()
def tasks(as_json: JsonFlag = False) -> None:
    """List the catalog's tasks: name, env id, intent, fitness."""
    from autoreward.tasks import catalog

    cards = catalog().values()
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
    description = build(card, steps=steps, seed=seed)
    text = description.render(prompts)
    tokens = description.tokens(prompts)
    if as_json:
        typer.echo(json.dumps({**description.model_dump(mode="json"), "text": text, "tokens": tokens}, indent=2))
        return
    typer.echo(text, nl=False)
    stderr.print(f"[dim]{tokens} tokens (o200k_base); fitness of {card.name}: {card.fitness_text}[/]")


@app.command()
def check(
    file: Annotated[Path, typer.Argument(help="The reward program (.py) to judge.")],
    task: Annotated[str, typer.Option("--task", "-t", help="A catalog task name or a path to a card (.toml).")],
    no_llm_review: Annotated[
        bool, typer.Option("--no-llm-review", help="Skip the LLM review (it also skips when no model is set).")
    ] = False,
    steps: Annotated[int, typer.Option(min=10, help="Transitions of the sandboxed dry run.")] = 300,
) -> None:
    """The Critic on one reward file: exit 0 accepted (warnings printed), exit 1 rejected, one line per reason."""
    from autoreward.critic import critique
    from autoreward.tasks import resolve_task

    if not file.is_file():
        raise AutorewardError(f"no reward file {file}; give the path to a .py file defining compute_reward")
    try:
        source = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise AutorewardError(f"{file}: cannot be read as UTF-8 text ({err})") from None
    card = resolve_task(task)
    review = None if no_llm_review else _configured_review(card)
    verdict = critique(source, card, review=review, steps=steps)
    for reason in verdict.reasons:
        style = "red" if reason.severity == "error" else "yellow"
        stdout.print(Text.assemble((f"{reason.severity}: ", style), f"{file}: {reason}"), soft_wrap=True)
    ran = ", ".join(verdict.stages_run)
    if not verdict.accepted:
        stderr.print(f"[red]rejected[/] ({len(verdict.errors)} errors; stages run: {ran}; {verdict.seconds:.2f} s)")
        raise typer.Exit(1)
    stderr.print(f"[green]accepted[/] (stages run: {ran}; {verdict.seconds:.2f} s)")


def _configured_review(card: Any) -> Any:
    """The LLM review as a ``critique`` stage when a model is configured (flag, env or autoreward.toml)."""
    import functools
    import os

    from autoreward.config import CONFIG_FILE, read_toml

    if not (os.environ.get("AUTOREWARD_MODEL", "").strip() or read_toml(Path.cwd() / CONFIG_FILE).get("model")):
        stderr.print("[dim]LLM review skipped: no model configured (AUTOREWARD_MODEL or autoreward.toml)[/]")
        return None
    from autoreward.config import load_settings
    from autoreward.critic.review import review
    from autoreward.describe import describe as build

    settings = load_settings()
    text = build(card).render(settings.prompts_dir)
    return functools.partial(review, description_text=text, settings=settings)


@app.command()
def serve(
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1 (0: any free port).")] = 8765,
    runs_dir: Annotated[
        Path | None, typer.Option(help="Run store root (default: AUTOREWARD_RUNS_DIR, ./autoreward-runs).")
    ] = None,
) -> None:
    """The web page on 127.0.0.1: runs, code, curves, videos and the preference ranking."""
    from autoreward.store import runs_root
    from autoreward.web.server import bind, server, url

    root = runs_root(runs_dir)
    sock = bind(port)
    stdout.print(f"autoreward serves {root} at {url(sock)} (Ctrl-C stops)", highlight=False, soft_wrap=True)
    server(root, sock).run(sockets=[sock])


def main() -> None:
    app(prog_name="autoreward")


if __name__ == "__main__":
    sys.exit(main())
