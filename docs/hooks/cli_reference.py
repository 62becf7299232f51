"""MkDocs hook: the command reference is each typer command's own ``--help``, rendered at build time, so the page
can never drift from the CLI. A page holds ``<!-- cli-reference -->`` where the commands go."""

from __future__ import annotations

from typing import Any

import typer.main
from typer.testing import CliRunner

from autoreward.cli import app

MARKER = "<!-- cli-reference -->"
_ENV = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}


def _help(args: list[str]) -> str:
    """One ``autoreward ... --help`` as printed to a 100-column terminal without colour."""
    result = CliRunner().invoke(app, [*args, "--help"], prog_name="autoreward", env=_ENV, color=False)
    if result.exit_code != 0:
        raise RuntimeError(f"autoreward {' '.join(args)} --help exited {result.exit_code}: {result.output}")
    return "\n".join(line.rstrip() for line in result.output.strip("\n").splitlines())


def render() -> str:
    """The whole reference: the top-level help, then one section per command, in the CLI's own order."""
    group = typer.main.get_command(app)
    sections = [f"```text\n{_help([])}\n```"]
    for name in group.commands:  # type: ignore[attr-defined]
        sections.append(f"## `autoreward {name}`\n\n```text\n{_help([name])}\n```")
    return "\n\n".join(sections)


def on_page_markdown(markdown: str, **_: Any) -> str:
    return markdown.replace(MARKER, render()) if MARKER in markdown else markdown
