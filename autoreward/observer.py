"""What the loop tells whoever watches it; the CLI draws a live table, tests and the web page need nothing."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from autoreward.store import CandidateRow


class LoopObserver:
    """Receives progress from the loop; every method is optional, so the base class watches nothing.

    Used as a context manager around a run, so that a live display can start and stop."""

    def __enter__(self) -> LoopObserver:
        return self

    def __exit__(self, *exc: object) -> None:
        """The run ended (or raised)."""

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """While a person is asked something at the terminal."""
        yield

    def iteration(self, index: int, total: int) -> None:
        """Iteration ``index`` (0-based) of ``total`` begins."""

    def stage(self, iteration: int, stage: str, detail: str = "") -> None:
        """A stage begins (design, critique, train, ...)."""

    def candidate(self, row: CandidateRow) -> None:
        """A candidate's stored record changed (designed, verdict, result)."""

    def training(self, candidate_id: str, event: dict[str, Any]) -> None:
        """A progress event streamed from a training worker."""

    def message(self, text: str) -> None:
        """Something worth a line in the log."""
