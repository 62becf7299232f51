"""The run store: one SQLite file for every run's records, and a directory per run for large artefacts.

Every stage writes its output here (in its own committed transaction) before the next stage starts, so a run
killed at any moment resumes at the first stage whose output is missing. Values are stored as JSON next to the
few columns that queries need (status, fitness), so the schema stays stable while the models evolve.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from autoreward.critic.verdict import Verdict
from autoreward.errors import AutorewardError
from autoreward.sanitize import plural
from autoreward.training.models import TrainResult, pruned_note
from autoreward.types import BUILTIN, RunStatus, Status

__all__ = ["CandidateRow", "Run", "RunStatus", "RunStore", "RunSummary", "Status", "StoredCall", "runs_root"]

DEFAULT_ROOT = "autoreward-runs"
TRAIN_DIR = "train"  # a candidate's training scratch, under its directory
DRIVER_LOCK = "driver.lock"  # held by the one process driving a run, under its directory
_Model = TypeVar("_Model", bound=BaseModel)


def candidate_id(run_id: str, iteration: int, idx: int) -> str:
    """The one place that knows a candidate's id: ``RUN/itNN-cNN`` (iteration and index count from 0)."""
    return f"{run_id}/it{iteration:02d}-c{idx:02d}"


def candidate_name(candidate: str) -> str:
    """A candidate's id without its run (``itNN-cNN``): its directory under the run and its short name."""
    return candidate.rpartition("/")[2]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, task TEXT NOT NULL, status TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL,
    card TEXT NOT NULL, config TEXT NOT NULL, meta TEXT NOT NULL, best_candidate TEXT, best_fitness REAL
);
CREATE TABLE IF NOT EXISTS llm_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, iteration INTEGER NOT NULL, purpose TEXT NOT NULL,
    created REAL NOT NULL, tokens_in INTEGER NOT NULL DEFAULT 0, tokens_out INTEGER NOT NULL DEFAULT 0,
    cost REAL NOT NULL DEFAULT 0, record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS candidates (
    id TEXT PRIMARY KEY, run_id TEXT NOT NULL, iteration INTEGER NOT NULL, idx INTEGER NOT NULL,
    status TEXT NOT NULL, llm_call_id INTEGER, parent_id TEXT, created REAL NOT NULL,
    verdict TEXT, result TEXT, fitness REAL, origin TEXT
);
CREATE TABLE IF NOT EXISTS iterations (
    run_id TEXT NOT NULL, iteration INTEGER NOT NULL, stage TEXT NOT NULL, created REAL NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (run_id, iteration, stage)
);
CREATE TABLE IF NOT EXISTS preferences (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, iteration INTEGER NOT NULL, source TEXT NOT NULL,
    created REAL NOT NULL, ranking TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS evaluations (
    id TEXT PRIMARY KEY, task TEXT NOT NULL, created REAL NOT NULL, spec TEXT NOT NULL, meta TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS evaluation_seeds (
    evaluation_id TEXT NOT NULL, method TEXT NOT NULL, seed INTEGER NOT NULL, created REAL NOT NULL,
    status TEXT NOT NULL, fitness REAL, result TEXT NOT NULL, PRIMARY KEY (evaluation_id, method, seed)
);
CREATE INDEX IF NOT EXISTS candidates_by_run ON candidates (run_id, iteration, idx);
CREATE INDEX IF NOT EXISTS calls_by_run ON llm_calls (run_id, iteration);
"""


@dataclass(frozen=True)
class Run:
    id: str
    task: str
    status: str
    created: float
    updated: float
    card: dict[str, Any]
    config: dict[str, Any]
    meta: dict[str, Any]
    best_candidate: str | None
    best_fitness: float | None


@dataclass(frozen=True)
class StoredCall:
    """One LLM call as stored: ``record`` is the call record exactly as the LLM layer produced it."""

    row_id: int
    iteration: int
    purpose: str
    record: dict[str, Any]


@dataclass(frozen=True)
class CandidateRow:
    """One candidate as stored; ``verdict`` and ``result`` are the stored JSON, ``checked``/``trained`` typed."""

    id: str
    run_id: str
    iteration: int
    idx: int
    status: Status
    llm_call_id: int | None
    parent_id: str | None
    verdict: dict[str, Any] | None
    result: dict[str, Any] | None
    fitness: float | None
    origin: str | None = None  # None: the LLM wrote it; else the user's file it was read from, or "builtin"

    @property
    def builtin(self) -> bool:
        """The env's own reward: trained without a program, never exported as a generated reward."""
        return self.origin == BUILTIN

    @property
    def origin_label(self) -> str | None:
        """Where a program the LLM did not write came from, as tables and pages mark it."""
        if self.origin is None:
            return None
        return "built-in reward" if self.builtin else f"from {Path(self.origin).name}"

    @property
    def name(self) -> str:
        """``itNN-cNN``: the candidate's short name and its directory under the run."""
        return candidate_name(self.id)

    @property
    def display_name(self) -> str:
        """The short name as tables and pages show it: one the LLM did not write says where it came from."""
        return self.name if self.origin_label is None else f"{self.name} ({self.origin_label})"

    @cached_property
    def checked(self) -> Verdict | None:
        """The Critic's verdict, typed (None before the Critic ran, or a record this version cannot read)."""
        return _typed(Verdict, self.verdict)

    @cached_property
    def trained(self) -> TrainResult | None:
        """The training result, typed (None before training finished, or a record this version cannot read)."""
        return _typed(TrainResult, self.result)

    @property
    def pruned_note(self) -> str:
        """Where successive halving cut the candidate ("" when it was not pruned)."""
        return pruned_note(self.result)

    @property
    def success_rate(self) -> float | None:
        """Share of evaluation episodes that met the task's success threshold (None: untrained or no threshold)."""
        evaluation = self.trained.evaluation if self.trained else None
        return evaluation.success_rate if evaluation else None

    def verdict_line(self) -> str:
        """One line on the verdict or the training, as the live table and ``show`` print it."""
        if self.status == Status.PRUNED:
            return self.pruned_note
        if self.status == Status.DUPLICATE and self.checked is not None and self.checked.errors:
            return self.checked.errors[0].message  # the status already says "duplicate"
        if self.status in (Status.REJECTED, Status.FAILED, Status.DUPLICATE):
            return self.failure_reasons()[0]
        if self.checked is None:
            return "not checked yet"
        warnings = [r for r in self.checked.reasons if r.severity == "warning"]
        return f"ok ({plural(len(warnings), 'warning')})" if warnings else "ok"

    def failure_reasons(self) -> list[str]:
        """Why the candidate was refused (its verdict's errors) or failed in training (its error and line);
        the prompt, the live table and ``show`` all word it this way."""
        errors = [str(reason) for reason in self.checked.errors] if self.checked else []
        if errors:
            return errors
        result = self.trained
        error = result.error if result else None
        line = f" (line {result.error_line})" if result and result.error_line else ""
        return [f"training failed: {error or self.status}{line}"]


def _typed(model: type[_Model], data: dict[str, Any] | None) -> _Model | None:
    try:
        return None if data is None else model.model_validate(data)
    except ValidationError:  # a record written by another version: the pages and tables still show the rest
        return None


class RunSummary(BaseModel):
    """One run at a glance, as ``autoreward runs`` and the web page list it."""

    id: str
    task: str
    status: str
    created: float
    updated: float
    iterations: int
    candidates: int
    best_candidate: str | None
    best_fitness: float | None
    model: str | None


@dataclass(frozen=True)
class EvaluationRow:
    """A multi-seed evaluation (``autoreward evaluate``): what it trains (``spec``) and its provenance."""

    id: str
    task: str
    created: float
    spec: dict[str, Any]
    meta: dict[str, Any]


@dataclass(frozen=True)
class SeedRow:
    """One method trained on one seed for an evaluation, stored as soon as it finished."""

    evaluation_id: str
    method: str
    seed: int
    created: float
    status: str
    fitness: float | None
    result: dict[str, Any]


def runs_root(runs_dir: str | Path | None = None) -> Path:
    """``--runs-dir``, else ``AUTOREWARD_RUNS_DIR``, else ``./autoreward-runs``."""
    return Path(runs_dir or os.environ.get("AUTOREWARD_RUNS_DIR") or DEFAULT_ROOT)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


_CANDIDATE_QUERY = (
    "SELECT id, run_id, iteration, idx, status, llm_call_id, parent_id, verdict, result, fitness, origin "
    "FROM candidates"
)


def _candidate_row(r: tuple[Any, ...]) -> CandidateRow:
    return CandidateRow(r[0], r[1], r[2], r[3], Status(r[4]), r[5], r[6], _loads(r[7]), _loads(r[8]), r[9], r[10])


RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def check_run_id(run_id: str) -> str:
    """A run id is a plain name: it becomes a directory under the store's root and must stay there."""
    if not RUN_ID.fullmatch(run_id) or ".." in run_id:
        raise AutorewardError(
            f"run id {run_id!r} is not a plain name: use letters, digits, '.', '_' and '-' (no '/' or '..'), "
            "starting with a letter or digit"
        )
    return run_id


class RunStore:
    """Every run under one root: ``<root>/runs.sqlite`` and ``<root>/<run_id>/`` for files.

    ``create=False`` (the commands that only read or continue runs) never makes a missing root: it then reads
    as an empty store."""

    def __init__(self, root: str | Path | None = None, *, create: bool = True) -> None:
        self.root = runs_root(root)
        if self.root.exists() and not self.root.is_dir():
            raise AutorewardError(
                f"--runs-dir {self.root} is a file, not a directory: pass a directory (it is made if missing)"
            )
        self.path = self.root / "runs.sqlite"
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        elif not self.path.is_file():
            self.path = Path(":memory:")
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(candidates)")}
        if "origin" not in columns:  # a store written before candidates had an origin
            self._db.execute("ALTER TABLE candidates ADD COLUMN origin TEXT")

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction: a crash leaves either all of it or none of it."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # --- runs -----------------------------------------------------------------------------------------------

    def run_dir(self, run_id: str) -> Path:
        return self.root / run_id

    @contextmanager
    def driving(self, run_id: str) -> Iterator[None]:
        """Held while a process drives the run: a second ``run``/``resume`` of it is refused, not interleaved (two
        drivers would critique and train the same candidates in the same directories). The kernel drops the lock
        when its process dies, so a killed run resumes."""
        path = self.run_dir(run_id) / DRIVER_LOCK
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise AutorewardError(
                    f"run {run_id} is being driven by another process: wait for it to end, or stop it and then "
                    f"`autoreward resume {run_id}`"
                ) from None
            yield

    def create_run(self, run_id: str, task: str, card: dict, config: dict, meta: dict) -> Run:
        check_run_id(run_id)
        now = time.time()
        with self._tx() as db:
            if db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone():
                raise AutorewardError(
                    f"run {run_id!r} already exists in {self.root}: resume it with `autoreward resume {run_id}` "
                    "or choose another --run-id"
                )
            db.execute(
                "INSERT INTO runs VALUES (?, ?, 'running', ?, ?, ?, ?, ?, NULL, NULL)",
                (run_id, task, now, now, json.dumps(card), json.dumps(config), json.dumps(meta)),
            )
        self.run_dir(run_id).mkdir(parents=True, exist_ok=True)
        return self.run(run_id)

    def run(self, run_id: str) -> Run:
        row = self._db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise AutorewardError(
                f"no run {run_id!r} in {self.root}: `autoreward runs` lists them (or pass --runs-dir)"
            )
        return Run(row[0], row[1], row[2], row[3], row[4], *(json.loads(v) for v in row[5:8]), row[8], row[9])

    def runs(self) -> list[Run]:
        ids = [r[0] for r in self._db.execute("SELECT id FROM runs ORDER BY created DESC")]
        return [self.run(i) for i in ids]

    def summary(self, run: Run) -> RunSummary:
        rows = self.candidates(run.id)
        return RunSummary(
            id=run.id, task=run.task, status=run.status, created=run.created, updated=run.updated,
            iterations=len({r.iteration for r in rows}), candidates=len(rows), best_candidate=run.best_candidate,
            best_fitness=run.best_fitness, model=(run.config.get("llm") or {}).get("model"),
        )  # fmt: skip

    def best(self, run_id: str, up_to: int | None = None) -> CandidateRow | None:
        """The trained candidate with the highest true fitness (up to and including iteration ``up_to``); the
        env's own reward is a yardstick, never the run's result."""
        rows = [
            r for r in self.candidates(run_id)
            if r.status == Status.TRAINED and r.fitness is not None and (up_to is None or r.iteration <= up_to)
            and not r.builtin
        ]  # fmt: skip
        return max(rows, key=lambda r: r.fitness or 0.0, default=None)

    def set_config(self, run_id: str, config: dict) -> None:
        """Replace a run's stored settings (``resume --model`` switches the LLM of the calls still to come)."""
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET config = ?, updated = ? WHERE id = ?", (json.dumps(config), time.time(), run_id)
            )

    def set_run(self, run_id: str, *, status: str | None = None, best: tuple[str, float] | None = None) -> None:
        with self._tx() as db:
            if status is not None:
                db.execute("UPDATE runs SET status = ?, updated = ? WHERE id = ?", (status, time.time(), run_id))
            if best is not None:
                db.execute(
                    "UPDATE runs SET best_candidate = ?, best_fitness = ?, updated = ? WHERE id = ?",
                    (best[0], best[1], time.time(), run_id),
                )

    # --- LLM calls: stored as soon as the answer arrives, so a resumed run never pays twice ---------------

    def add_llm_call(self, run_id: str, iteration: int, purpose: str, record: dict[str, Any]) -> int:
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO llm_calls (run_id, iteration, purpose, created, tokens_in, tokens_out, cost, record) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id, iteration, purpose, time.time(), int(record.get("tokens_in") or 0),
                    int(record.get("tokens_out") or 0), float(record.get("cost_usd") or 0.0), json.dumps(record),
                ),
            )  # fmt: skip
            return int(cursor.lastrowid or 0)

    def llm_calls(self, run_id: str, iteration: int | None = None, purpose: str | None = None) -> list[StoredCall]:
        query, args = "SELECT id, iteration, purpose, record FROM llm_calls WHERE run_id = ?", [run_id]
        if iteration is not None:
            query, args = query + " AND iteration = ?", [*args, iteration]
        if purpose is not None:
            query, args = query + " AND purpose = ?", [*args, purpose]
        rows = self._db.execute(query + " ORDER BY id", args).fetchall()
        return [StoredCall(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    def replay_or_call(
        self, run_id: str, iteration: int, purpose: str, ask: Callable[[], dict[str, Any] | None],
        number: int | None = None,
    ) -> StoredCall | None:  # fmt: skip
        """The stored answer of a call (the ``number``-th of its purpose; None: the latest), else ``ask()``'s
        record, stored before it is returned: a resumed run replays answered calls and never pays twice.
        None when there is nothing stored and ``ask`` returns None (nothing left to ask)."""
        calls = self.llm_calls(run_id, iteration, purpose)
        if calls and (number is None or number < len(calls)):
            return calls[-1 if number is None else number]
        record = ask()
        if record is None:
            return None
        return StoredCall(self.add_llm_call(run_id, iteration, purpose, record), iteration, purpose, record)

    def llm_usage(self, run_id: str) -> dict[int, dict[str, float]]:
        """Tokens and cost per iteration."""
        rows = self._db.execute(
            "SELECT iteration, SUM(tokens_in), SUM(tokens_out), SUM(cost), COUNT(*) FROM llm_calls "
            "WHERE run_id = ? GROUP BY iteration ORDER BY iteration",
            (run_id,),
        ).fetchall()
        return {r[0]: {"tokens_in": r[1], "tokens_out": r[2], "cost": r[3], "calls": r[4]} for r in rows}

    # --- candidates -----------------------------------------------------------------------------------------

    def candidate_dir(self, candidate: str | CandidateRow) -> Path:
        """A candidate's directory: ``<root>/<run>/itNN-cNN`` (its code, critic and training files)."""
        if isinstance(candidate, CandidateRow):
            return self.run_dir(candidate.run_id) / candidate.name
        return self.root / candidate  # the id is the run directory / the candidate's name

    def add_candidate(
        self, run_id: str, iteration: int, idx: int, source: str | None, *, llm_call_id: int | None,
        parent_id: str | None = None, status: Status = Status.DESIGNED, verdict: dict | None = None,
        origin: str | None = None,
    ) -> str:  # fmt: skip
        """Store a candidate's code as a file and its row; an unusable answer is stored with its verdict.
        ``origin`` names where a program the LLM did not write came from (a user's file, or ``BUILTIN``)."""
        new_id = candidate_id(run_id, iteration, idx)
        directory = self.candidate_dir(new_id)
        directory.mkdir(parents=True, exist_ok=True)
        if source is not None:
            (directory / "reward.py").write_text(source, encoding="utf-8")
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO candidates (id, run_id, iteration, idx, status, llm_call_id, parent_id, "
                "created, verdict, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (new_id, run_id, iteration, idx, str(status), llm_call_id, parent_id, time.time(),
                 json.dumps(verdict) if verdict is not None else None, origin),
            )  # fmt: skip
        return new_id

    def critic_dir(self, candidate: str | CandidateRow, *, fresh: bool = False) -> Path:
        """Scratch for the Critic's dry run of a candidate; ``fresh`` clears what a run killed mid-check left."""
        path = self.candidate_dir(candidate) / "critic"
        if fresh:
            shutil.rmtree(path, ignore_errors=True)
        return path

    def train_dir(self, candidate: str | CandidateRow, *, fresh: bool = False) -> Path:
        """Scratch of a candidate's training; ``fresh`` clears what a killed run's training left half done."""
        path = self.candidate_dir(candidate) / TRAIN_DIR
        if fresh:
            shutil.rmtree(path, ignore_errors=True)
        return path

    def source(self, candidate_id: str) -> str | None:
        path = self.candidate_dir(candidate_id) / "reward.py"
        return path.read_text(encoding="utf-8") if path.exists() else None

    def set_verdict(
        self, candidate_id: str, verdict: dict[str, Any], accepted: bool, status: Status | None = None
    ) -> None:
        """Store the Critic's verdict; ``status`` overrides the one ``accepted`` implies (a duplicate)."""
        status = status or (Status.ACCEPTED if accepted else Status.REJECTED)
        with self._tx() as db:
            db.execute(
                "UPDATE candidates SET verdict = ?, status = ? WHERE id = ?",
                (json.dumps(verdict), str(status), candidate_id),
            )

    def set_training(self, candidate_id: str, result: TrainResult, status: Status) -> None:
        """Store a training's result with its artefact paths relative to the candidate's directory."""
        data = result.model_dump(mode="json")
        data["artifacts"] = {k: f"{TRAIN_DIR}/{v}" for k, v in result.artifacts.items()}
        self.set_result(candidate_id, data, result.fitness, status)

    def set_result(self, candidate_id: str, result: dict[str, Any], fitness: float | None, status: Status) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE candidates SET result = ?, fitness = ?, status = ? WHERE id = ?",
                (json.dumps(result), fitness, str(Status(status)), candidate_id),
            )

    def candidates(self, run_id: str, iteration: int | None = None) -> list[CandidateRow]:
        query, args = _CANDIDATE_QUERY + " WHERE run_id = ?", [run_id]
        if iteration is not None:
            query, args = query + " AND iteration = ?", [*args, iteration]
        rows = self._db.execute(query + " ORDER BY iteration, idx", args).fetchall()
        return [_candidate_row(r) for r in rows]

    def candidate(self, candidate_id: str) -> CandidateRow:
        row = self._db.execute(_CANDIDATE_QUERY + " WHERE id = ?", (candidate_id,)).fetchone()
        if row is None:
            raise AutorewardError(f"no candidate {candidate_id!r} in {self.root}: `autoreward show RUN_ID` lists them")
        return _candidate_row(row)

    # --- per-iteration stage outputs (analysis, prompt feedback, ...) ---------------------------------------

    def put_stage(self, run_id: str, iteration: int, stage: str, value: Any) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO iterations VALUES (?, ?, ?, ?, ?)",
                (run_id, iteration, stage, time.time(), json.dumps(value)),
            )

    def put_analysis(self, run_id: str, iteration: int, text: str) -> None:
        """The Analyzer's report of an iteration: stored, and written as ``analysis-itNN.md`` to read."""
        self.put_stage(run_id, iteration, "analysis", {"text": text})
        if text:
            (self.run_dir(run_id) / f"analysis-it{iteration:02d}.md").write_text(text, encoding="utf-8")

    def analysis(self, run_id: str, iteration: int) -> str:
        """The Analyzer's report of an iteration ("" before the analysis ran or when nothing trained)."""
        stored = self.stage(run_id, iteration, "analysis")
        return stored.get("text", "") if isinstance(stored, dict) else (stored or "")

    def stage(self, run_id: str, iteration: int, stage: str) -> Any:
        row = self._db.execute(
            "SELECT value FROM iterations WHERE run_id = ? AND iteration = ? AND stage = ?", (run_id, iteration, stage)
        ).fetchone()
        return None if row is None else json.loads(row[0])

    # --- preferences ----------------------------------------------------------------------------------------

    def add_preference(self, run_id: str, iteration: int, source: str, ranking: list[str]) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO preferences (run_id, iteration, source, created, ranking) VALUES (?, ?, ?, ?, ?)",
                (run_id, iteration, source, time.time(), json.dumps(ranking)),
            )

    def preference(self, run_id: str, iteration: int) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT source, ranking, created FROM preferences WHERE run_id = ? AND iteration = ? ORDER BY id DESC",
            (run_id, iteration),
        ).fetchone()
        return None if row is None else {"source": row[0], "ranking": json.loads(row[1]), "created": row[2]}

    # --- evaluations: each finished seed is stored at once, so a killed evaluation loses none -----------

    def create_evaluation(self, evaluation_id: str, task: str, spec: dict, meta: dict) -> EvaluationRow:
        """Store a new evaluation, or return the stored one with this id (the same spec resumes it)."""
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO evaluations VALUES (?, ?, ?, ?, ?)",
                (evaluation_id, task, time.time(), json.dumps(spec), json.dumps(meta)),
            )
        self.run_dir(evaluation_id).mkdir(parents=True, exist_ok=True)
        return self.evaluation(evaluation_id)

    def evaluation(self, evaluation_id: str) -> EvaluationRow:
        row = self._db.execute("SELECT * FROM evaluations WHERE id = ?", (evaluation_id,)).fetchone()
        if row is None:
            raise AutorewardError(f"no evaluation {evaluation_id!r} in {self.root}: `autoreward evaluate` makes one")
        return EvaluationRow(row[0], row[1], row[2], json.loads(row[3]), json.loads(row[4]))

    def has_evaluation(self, evaluation_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM evaluations WHERE id = ?", (evaluation_id,)).fetchone() is not None

    def evaluations(self) -> list[EvaluationRow]:
        ids = [r[0] for r in self._db.execute("SELECT id FROM evaluations ORDER BY created DESC")]
        return [self.evaluation(i) for i in ids]

    def add_seed_result(
        self, evaluation_id: str, method: str, seed: int, status: str, fitness: float | None, result: dict
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO evaluation_seeds VALUES (?, ?, ?, ?, ?, ?, ?)",
                (evaluation_id, method, seed, time.time(), status, fitness, json.dumps(result)),
            )

    def seed_results(self, evaluation_id: str) -> list[SeedRow]:
        rows = self._db.execute(
            "SELECT * FROM evaluation_seeds WHERE evaluation_id = ? ORDER BY method, seed", (evaluation_id,)
        ).fetchall()
        return [SeedRow(*r[:6], json.loads(r[6])) for r in rows]
