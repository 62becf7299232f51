"""MkDocs hook: the pages that describe the code are generated from it at build time, so they cannot drift.

``<!-- cli-reference -->`` becomes each typer command's own ``--help``; ``<!-- catalog -->`` becomes a table of
the catalog's cards, read from ``envs/cards``.
"""

from __future__ import annotations

from typing import Any

import typer.main
from typer.testing import CliRunner

from autoreward.cli import app
from autoreward.envs.suites import suite_for
from autoreward.tasks import catalog

_ENV = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}


def _help(args: list[str]) -> str:
    """One ``autoreward ... --help`` as printed to a 100-column terminal without colour."""
    result = CliRunner().invoke(app, [*args, "--help"], prog_name="autoreward", env=_ENV, color=False)
    if result.exit_code != 0:
        raise RuntimeError(f"autoreward {' '.join(args)} --help exited {result.exit_code}: {result.output}")
    return "\n".join(line.rstrip() for line in result.output.strip("\n").splitlines())


def cli_reference() -> str:
    """The top-level help, then one section per command, in the CLI's own order."""
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    sections = [f"```text\n{_help([])}\n```"]
    sections += [f"## `autoreward {name}`\n\n```text\n{_help([name])}\n```" for name in commands]
    return "\n\n".join(sections)


def catalog_table() -> str:
    """One row per catalog card: name, env id, the extra it needs, fitness, sub-goal hints."""
    rows = ["| card | env id | extra | fitness | sub-goals |", "|---|---|---|---|---|"]
    for card in catalog().values():
        suite = suite_for(card.env_id)
        fitness = card.fitness_text.replace("|", "\\|")
        rows.append(
            f"| `{card.name}` | `{card.env_id}` | {suite.name if suite else '-'} | `{fitness}` | {len(card.subgoals)} |"
        )
    return "\n".join(rows)


_MARKERS = {"<!-- cli-reference -->": cli_reference, "<!-- catalog -->": catalog_table}


def on_page_markdown(markdown: str, **_: Any) -> str:
    for marker, render in _MARKERS.items():
        if marker in markdown:
            markdown = markdown.replace(marker, render())
    return markdown
