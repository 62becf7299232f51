"""The terminal shows what workers send as data: no rich markup, no escape sequences, no crash on a non-number
(issue 34, finding 10). A real rich console renders to a terminal-like buffer, as `autoreward run` does."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest
from rich.console import Console

from autoreward.live import LiveObserver, PlainObserver
from autoreward.store import RunStore, Status
from autoreward.training.parallel import events_printer

MARKUP = "[link=https://evil.example/]click me[/link] [blink red]alarm[/]"
OSC8 = "\x1b]8;"
HOSTILE_EVENTS = [
    {"event": "started", "timesteps": MARKUP, "total_timesteps": "[bold]999[/bold]"},
    {"event": "progress", "timesteps": 10**400, "total_timesteps": math.inf, "fitness": "not a number"},
    {"event": "progress", "timesteps": -5, "total_timesteps": True, "fitness": {"nested": [1, 2]}},
    {"event": "progress", "timesteps": 512, "total_timesteps": 4096, "fitness": math.nan},
    {"event": "evaluated", "fitness": [1.0]},
    {"event": "progress", "timesteps": 1024, "total_timesteps": 4096, "fitness": 3.25},
]


def _console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, color_system="truecolor", width=240), buffer


@pytest.fixture
def failed_row(tmp_path: Path):
    """A candidate whose training error (the worker's text) carries rich markup and an OSC 8 link."""
    store = RunStore(tmp_path)
    store.create_run("r", "t", {}, {}, {})
    cid = store.add_candidate("r", 0, 0, "def compute_reward(p, a, s):\n    return 0.0, {}\n", llm_call_id=None)
    result = {"candidate_id": cid, "task": "t", "status": "failed", "error": f"{MARKUP} \x1b]8;;https://x\x07y"}
    store.set_result(cid, result, None, Status.FAILED)
    yield store.candidate(cid)
    store.close()


def test_the_live_table_shows_worker_fields_as_plain_text(failed_row) -> None:
    console, buffer = _console()
    with LiveObserver(console, total_iterations=1) as observer:
        for event in HOSTILE_EVENTS:
            observer.training("r/it00-c01", event)
        observer.candidate(failed_row)
        observer.message(f"worker said {MARKUP}\x1b[2J")
    out = buffer.getvalue()
    assert OSC8 not in out and "\x1b[2J" not in out and "\x1b[5m" not in out  # no link, no clear, no blink
    assert "[link=https://evil.example/]click me[/link]" in out  # the text itself, shown as text
    assert "1024/4096" in out and "3.25" in out  # the one valid event is shown
    assert "not a number" not in out and "nested" not in out and "999" not in out


def test_the_plain_log_shows_worker_fields_as_plain_text(failed_row) -> None:
    console, buffer = _console()
    observer = PlainObserver(console)
    for event in HOSTILE_EVENTS:
        observer.training("r/it00-c01", event)
    observer.candidate(failed_row)
    observer.message(MARKUP)
    out = buffer.getvalue()
    assert OSC8 not in out and "\x1b[5m" not in out
    assert out.count("[link=https://evil.example/]click me[/link]") == 2
    assert "?/? steps" in out and "1024/4096 steps, fitness so far 3.25" in out and "not a number" not in out


def test_the_events_printer_prints_only_clean_scalars() -> None:
    stream = io.StringIO()
    show = events_printer(stream)
    show(
        "r/it00-c00",
        {"event": "warning", "message": "a\x1b]8;;https://x\x07link\x1b]8;;\x07 \x1b[2J", "deep": {"a": 1}},
    )
    show("r/it00-c00", {"event": "progress", "timesteps": 100, "fitness": math.inf, "\x1b[31mkey": 1})
    out = stream.getvalue()
    assert "\x1b" not in out and "deep" not in out and "inf" not in out
    assert "message=alink" in out and "timesteps=100" in out


def test_show_prints_a_worker_s_error_as_text(failed_row, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from autoreward.cli import app

    result = CliRunner().invoke(app, ["show", "r", "--runs-dir", str(tmp_path)], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    assert "[link=https://evil.example/]click me[/link] [blink red]alarm[/]" in result.output
