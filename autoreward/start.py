"""The programs a run starts from besides the LLM's: a user's reward file (``--from FILE``, a card's ``from``)
or the env's own reward (``--from builtin``). Each becomes a candidate of the first iteration.

Files are read once, when the run is created, and their text is stored with the run: a resumed run trains what
was checked, whatever happened to the file since.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from autoreward.critic.verdict import Verdict
from autoreward.errors import AutorewardError
from autoreward.store import BUILTIN, RunStore, Status
from autoreward.tasks import TaskCard

MAX_BYTES = 256 * 1024  # a reward program is a page of code; anything this large is the wrong file


class StartRejected(AutorewardError):
    """A starting program the Critic refused: the run is not created."""


class StartProgram(BaseModel):
    """One program to start from; its text, not its path, is what the run trains."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    origin: str = Field(description=f'the file it was read from (an absolute path), or "{BUILTIN}"')
    source: str | None = Field(default=None, description="the program's text; None for the env's own reward")

    @property
    def builtin(self) -> bool:
        return self.origin == BUILTIN

    @property
    def name(self) -> str:
        """How people call it: the file's name, or "the env's own reward"."""
        return "the env's own reward" if self.builtin else Path(self.origin).name


def start_programs(card: TaskCard, values: Sequence[str] = ()) -> list[StartProgram]:
    """The card's ``from`` (paths relative to the card), then ``--from`` (relative to the current directory);
    a program named twice counts once."""
    base = card.source.parent if card.source is not None else None
    programs: list[StartProgram] = []
    for program in [*read_start_programs(card.start_from, base), *read_start_programs(values)]:
        if all(p.origin != program.origin for p in programs):
            programs.append(program)
    return programs


def read_start_programs(values: Sequence[str], base: Path | None = None) -> list[StartProgram]:
    """``builtin`` or paths (relative to ``base``, else the current directory), read now."""
    return [StartProgram(origin=BUILTIN) if v == BUILTIN else _read(Path(base or ".") / v) for v in values]


def _read(path: Path) -> StartProgram:
    fix = f"give the path to a .py file defining compute_reward, or {BUILTIN} for the env's own reward"
    if not path.is_file():
        raise AutorewardError(f"--from {path}: no such file; {fix}")
    if path.stat().st_size > MAX_BYTES:
        raise AutorewardError(f"--from {path}: {path.stat().st_size} bytes is not a reward program; {fix}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise AutorewardError(f"--from {path}: cannot be read as UTF-8 text ({err}); {fix}") from None
    return StartProgram(origin=str(path.resolve()), source=text)


def check_start_programs(
    programs: Sequence[StartProgram], critic: Callable[[StartProgram], Verdict]
) -> list[Verdict | None]:
    """Each program's verdict (None for the env's own reward, which has no program); any rejection raises
    ``StartRejected`` with one line per reason, before anything is stored or any LLM is asked."""
    verdicts = [None if p.builtin else critic(p) for p in programs]
    lines = [
        f"{p.origin}: {reason}"
        for p, verdict in zip(programs, verdicts, strict=True)
        if verdict is not None
        for reason in verdict.errors
    ]
    if lines:
        raise StartRejected(
            "the Critic rejected the program to start from; fix it (`autoreward check FILE --task TASK` shows the "
            "same reasons) and run again:\n" + "\n".join(lines)
        )
    return verdicts


def add_start_candidates(
    store: RunStore, run_id: str, programs: Sequence[StartProgram], verdicts: Sequence[Verdict | None] = ()
) -> None:
    """Store ``programs`` as the first candidates of iteration 1 (indices 0...), keeping those already stored.

    With the verdicts ``check_start_programs`` gave, they are stored accepted and are not judged twice; without
    them (a run killed before they were stored) the loop's Critic judges them. The env's own reward has no
    program to judge: it is accepted as it is."""
    stored = {row.idx for row in store.candidates(run_id, 0)}
    for idx, program in enumerate(programs):
        if idx in stored:
            continue
        verdict = Verdict() if program.builtin else (verdicts[idx] if idx < len(verdicts) else None)
        store.add_candidate(
            run_id, 0, idx, program.source, llm_call_id=None, origin=program.origin,
            status=Status.DESIGNED if verdict is None else Status.ACCEPTED,
            verdict=None if verdict is None else verdict.model_dump(mode="json"),
        )  # fmt: skip
