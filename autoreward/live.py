"""How a run looks in the terminal: a rich live table per iteration, or plain log lines with ``--quiet``.

Progress events come from training workers, and verdict lines carry text a program influenced: every such field
is shown as plain ``Text`` (never rich markup), cleaned of escape and control characters, and a number only
where it is one (``sanitize.number``/``count``); anything else is dropped, so no worker can style, link or crash
the table.
"""

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
from autoreward.sanitize import clean, count, number
from autoreward.store import CandidateRow, Status, candidate_name

CELL_CHARS = 300  # a verdict cell: one bounded line
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
        said = _line(row)
        said = said if row.status == Status.PRUNED else f"{row.status}{fitness} {said}"
        self.console.print(Text(f"  {row.id}{' ' + origin if origin else ''}: {clean(said, one_line=True)}"),
                           highlight=False, soft_wrap=True)  # fmt: skip

    def training(self, candidate_id: str, event: dict[str, Any]) -> None:
        if event.get("event") != "progress":
            return
        done, total = count(event.get("timesteps")), count(event.get("total_timesteps"))
        shown = done if done is None or total is None else min(done, total)  # PPO ends on a whole rollout
        steps = f"{'?' if shown is None else shown}/{'?' if total is None else total}"
        line = f"  {candidate_id}: {steps} steps, fitness so far {_fmt(event.get('fitness'))}"
        self.console.print(Text(line), highlight=False, soft_wrap=True)

    def message(self, text: str) -> None:
        self.console.print(Text(clean(text)), highlight=False, soft_wrap=True)


def _fmt(value: Any) -> str:
    """A fitness as the table shows it; "-" for none or for anything that is not a finite number."""
    checked = number(value)
    return "-" if checked is None else f"{checked:.4g}"


def _line(row: CandidateRow) -> str:
    """The row's verdict line (it may quote a program's error text), as one clean bounded line."""
    return clean(row.verdict_line(), CELL_CHARS, one_line=True)


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
        table = Table(title=Text(f"iteration {self._iteration + 1}: {self._stage}"), expand=True)
        for column, kwargs in (("candidate", {"no_wrap": True}), ("status", {}), ("verdict", {"ratio": 1}),
                               ("timesteps", {"justify": "right"}), ("fitness", {"justify": "right"})):  # fmt: skip
            table.add_column(column, **kwargs)
        for cid, row in self._rows.items():
            style = _STYLE.get(row["status"], "white")
            done = row.get("timesteps")
            total = row.get("total")
            # PPO ends on a whole rollout, past the budget: the budget is what was asked for
            steps = (
                "" if done is None else (f"{min(done, total)}/{total}" if total else str(done))
            )  # PPO ends on a rollout
            table.add_row(Text(row.get("name", candidate_name(cid))), Text(str(row["status"]), style=style),
                          Text(row.get("verdict", "")), Text(steps), Text(_fmt(row.get("fitness"))))  # fmt: skip
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
            entry.update(status=row.status, verdict=_line(row), name=clean(row.display_name, 80, one_line=True))
            if row.fitness is not None:
                entry["fitness"] = row.fitness
            if row.trained:
                entry["timesteps"] = row.trained.timesteps
            self._refresh()

    def training(self, candidate_id: str, event: dict[str, Any]) -> None:
        with self._lock:
            entry = self._rows.setdefault(candidate_id, {"status": Status.ACCEPTED})
            entry["status"] = Status.TRAINING
            kind = event.get("event")
            if (total := count(event.get("total_timesteps"))) is not None:
                entry["total"] = total
            if kind in ("progress", "started") and (done := count(event.get("timesteps"))) is not None:
                entry["timesteps"] = done
            if kind in ("progress", "evaluated") and (fitness := number(event.get("fitness"))) is not None:
                entry["fitness"] = fitness
            self._refresh()

    def message(self, text: str) -> None:
        self.console.print(Text(clean(text)), highlight=False)
