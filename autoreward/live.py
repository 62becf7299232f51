"""How a run looks in the terminal: a rich live table per iteration, or plain log lines with ``--quiet``."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from autoreward.observer import LoopObserver
from autoreward.store import CandidateRow, Status, candidate_name

_STYLE = {
    Status.TRAINED: "green",
    Status.ACCEPTED: "cyan",
    Status.REJECTED: "red",
    Status.FAILED: "red",
    Status.PRUNED: "yellow",
    Status.DUPLICATE: "yellow",
}


class PlainObserver(LoopObserver):
    """One log line per event, for CI logs and ``--quiet``."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._last_progress: dict[str, int] = {}

    def iteration(self, index: int, total: int) -> None:
        self.console.print(f"iteration {index + 1}/{total}", highlight=False, soft_wrap=True)

    def stage(self, iteration: int, stage: str, detail: str = "") -> None:
        self.console.print(f"  {stage}: {detail}", highlight=False, soft_wrap=True)

    def candidate(self, row: CandidateRow) -> None:
        fitness = "" if row.fitness is None else f" fitness {row.fitness:.4g}"
        origin = f"({row.origin_label})" if row.origin_label else ""
        said = row.verdict_line() if row.status == Status.PRUNED else f"{row.status}{fitness} {row.verdict_line()}"
        self.console.print(
            f"  {row.id}{' ' + origin if origin else ''}: {said}", highlight=False, soft_wrap=True, markup=False
        )

    def training(self, candidate_id: str, event: dict[str, Any]) -> None:
        if event.get("event") != "progress":
            return
        done, total = event.get("timesteps", 0), event.get("total_timesteps", "?")
        self.console.print(
            f"  {candidate_id}: {done}/{total} steps, fitness so far {_fmt(event.get('fitness'))}",
            highlight=False,
            soft_wrap=True,
        )

    def message(self, text: str) -> None:
        self.console.print(text, highlight=False, soft_wrap=True, markup=False)


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{float(value):.4g}"


class LiveObserver(LoopObserver):
    """A live table (candidate, verdict, timesteps done, fitness so far) under an overall progress bar."""

    def __init__(self, console: Console, total_iterations: int) -> None:
        self.console = console
        self._lock = threading.Lock()
        self._rows: dict[str, dict[str, Any]] = {}
        self._iteration = 0
        self._stage = ""
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console,
        )  # fmt: skip
        self._overall = self.progress.add_task("iterations", total=total_iterations)
        self.live = Live(self._render(), console=console, refresh_per_second=4, transient=False)

    def __enter__(self) -> LiveObserver:
        self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.progress.update(self._overall, completed=self.progress.tasks[0].total)
        self.live.update(self._render())
        self.live.stop()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        self.live.stop()
        try:
            yield
        finally:
            self.live.start()

    def _render(self) -> Group:
        table = Table(title=f"iteration {self._iteration + 1}: {self._stage}", expand=True)
        for column, kwargs in (("candidate", {"no_wrap": True}), ("status", {}), ("verdict", {"ratio": 1}),
                               ("timesteps", {"justify": "right"}), ("fitness", {"justify": "right"})):  # fmt: skip
            table.add_column(column, **kwargs)
        for cid, row in self._rows.items():
            style = _STYLE.get(row["status"], "white")
            done = row.get("timesteps")
            total = row.get("total")
            steps = "" if done is None else (f"{done}/{total}" if total else str(done))
            table.add_row(Text(row.get("name", candidate_name(cid))), f"[{style}]{row['status']}[/]",
                          row.get("verdict", ""), steps, _fmt(row.get("fitness")))  # fmt: skip
        return Group(table, self.progress)

    def _refresh(self) -> None:
        self.live.update(self._render())

    def iteration(self, index: int, total: int) -> None:
        with self._lock:
            if index != self._iteration:
                self.console.print(self._render().renderables[0])
            self._iteration = index
            self._rows = {}
            self.progress.update(self._overall, completed=index)
            self._refresh()

    def stage(self, iteration: int, stage: str, detail: str = "") -> None:
        with self._lock:
            self._stage = f"{stage} {detail}".strip()
            if stage == "describe":
                self.progress.update(self._overall, completed=iteration)
            self._refresh()

    def candidate(self, row: CandidateRow) -> None:
        with self._lock:
            entry = self._rows.setdefault(row.id, {})
            entry.update(status=row.status, verdict=row.verdict_line(), name=row.display_name)
            if row.fitness is not None:
                entry["fitness"] = row.fitness
            if row.trained:
                entry["timesteps"] = row.trained.timesteps
            self._refresh()

    def training(self, candidate_id: str, event: dict[str, Any]) -> None:
        with self._lock:
            entry = self._rows.setdefault(candidate_id, {"status": Status.ACCEPTED})
            entry["status"] = Status.TRAINING
            if "total_timesteps" in event:
                entry["total"] = event["total_timesteps"]
            if event.get("event") in ("progress", "started") and "timesteps" in event:
                entry["timesteps"] = event["timesteps"]
            if event.get("event") in ("progress", "evaluated") and event.get("fitness") is not None:
                entry["fitness"] = event["fitness"]
            self._refresh()

    def message(self, text: str) -> None:
        self.console.print(text, highlight=False, markup=False)
