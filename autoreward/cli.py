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


def main() -> None:
    app(prog_name="autoreward")


if __name__ == "__main__":
    sys.exit(main())
