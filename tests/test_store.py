"""The run store: every record survives a reopen, and a half-written transaction leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoreward.errors import AutorewardError
from autoreward.store import RunStore, runs_root


def test_records_survive_reopening(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.create_run("r1", "cartpole-balance", {"name": "cartpole-balance"}, {"samples": 2}, {"seed": 0})
    call = store.add_llm_call("r1", 0, "design", {"tokens_in": 10, "tokens_out": 5, "cost_usd": 0.01, "answers": ["x"]})
    cid = store.add_candidate("r1", 0, 0, "def compute_reward(p, a, s):\n    return 0.0, {}\n", llm_call_id=call)
    store.set_verdict(cid, {"reasons": []}, accepted=True)
    store.set_result(cid, {"fitness": 3.0}, 3.0, "trained")
    store.put_stage("r1", 0, "analysis", {"text": "fine"})
    store.add_preference("r1", 0, "synthetic", [cid])
    store.set_run("r1", status="finished", best=(cid, 3.0))
    store.close()

    again = RunStore(tmp_path)
    run = again.run("r1")
    assert (run.status, run.best_candidate, run.best_fitness) == ("finished", cid, 3.0)
    stored = again.llm_calls("r1", 0, "design")[0]
    assert (stored.row_id, stored.record["answers"]) == (call, ["x"])
    assert again.llm_usage("r1") == {0: {"tokens_in": 10, "tokens_out": 5, "cost": 0.01, "calls": 1}}
    row = again.candidate(cid)
    assert (row.status, row.fitness, row.verdict, row.llm_call_id) == ("trained", 3.0, {"reasons": []}, call)
    assert "compute_reward" in again.source(cid)
    assert again.stage("r1", 0, "analysis") == {"text": "fine"}
    assert again.stage("r1", 1, "analysis") is None
    assert again.preference("r1", 0)["ranking"] == [cid]


def test_unknown_and_duplicate_runs_say_what_to_do(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    with pytest.raises(AutorewardError, match="autoreward runs"):
        store.run("nope")
    store.create_run("r1", "t", {}, {}, {})
    with pytest.raises(AutorewardError, match="autoreward resume r1"):
        store.create_run("r1", "t", {}, {}, {})


def test_failed_transaction_leaves_no_trace(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.create_run("r1", "t", {}, {}, {})
    with pytest.raises(RuntimeError), store._tx() as db:
        db.execute("UPDATE runs SET status = 'broken' WHERE id = 'r1'")
        raise RuntimeError("killed mid-write")
    assert store.run("r1").status == "running"


def test_runs_root_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOREWARD_RUNS_DIR", str(tmp_path / "env"))
    assert runs_root(None) == tmp_path / "env"
    assert runs_root(tmp_path / "flag") == tmp_path / "flag"
    monkeypatch.delenv("AUTOREWARD_RUNS_DIR")
    assert runs_root(None) == Path("autoreward-runs")
