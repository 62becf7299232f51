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


def test_rows_are_typed_and_the_best_is_found_once(tmp_path: Path) -> None:
    from autoreward.store import Status, candidate_id

    store = RunStore(tmp_path)
    store.create_run("r1", "t", {}, {"llm": {"model": "m"}}, {})
    ids = [store.add_candidate("r1", it, idx, "x = 1\n", llm_call_id=None) for it in (0, 1) for idx in (0, 1)]
    assert ids[3] == candidate_id("r1", 1, 1) == "r1/it01-c01"
    reason = {"stage": "static", "severity": "error", "line": 3, "message": "no compute_reward"}
    store.set_verdict(ids[0], {"reasons": [reason], "stages_run": ["static"]}, accepted=False)
    evaluation = {"episodes": 2, "fitness_mean": 2.0, "fitness_std": 0.0, "fitness_min": 2.0, "fitness_max": 2.0,
                  "success_rate": 0.5, "builtin_return_mean": 0.0, "reward_return_mean": 0.0, "length_mean": 9.0,
                  "terminated_rate": 0.0, "rollouts": []}  # fmt: skip
    result = {"candidate_id": ids[1], "task": "t", "status": "ok", "timesteps": 64, "evaluation": evaluation}
    store.set_result(ids[1], result, 2.0, Status.TRAINED)
    store.set_result(ids[2], {**result, "candidate_id": ids[2], "evaluation": None}, 5.0, Status.PRUNED)
    store.set_result(ids[3], {**result, "status": "failed", "error": "boom", "error_line": 4}, None, "failed")

    rows = store.candidates("r1")
    assert [r.status for r in rows] == [Status.REJECTED, Status.TRAINED, Status.PRUNED, Status.FAILED]
    assert [r.name for r in rows] == ["it00-c00", "it00-c01", "it01-c00", "it01-c01"]
    assert store.candidate_dir(rows[1]) == store.candidate_dir(ids[1]) == tmp_path / "r1" / "it00-c01"
    assert rows[0].checked is not None and not rows[0].checked.accepted and rows[0].trained is None
    assert rows[0].failure_reasons() == ["static: line 3: no compute_reward"]
    assert rows[1].trained is not None and rows[1].trained.timesteps == 64 and rows[1].success_rate == 0.5
    assert rows[3].failure_reasons() == ["training failed: boom (line 4)"]
    # a pruned candidate's fitness is not a finished training's: the best is the trained one
    assert store.best("r1") == rows[1] and store.best("r1", up_to=0) == rows[1]
    summary = store.summary(store.run("r1"))
    assert (summary.iterations, summary.candidates, summary.model) == (2, 4, "m")
    assert store.candidate(ids[2]).status == "pruned"  # str-valued: the column and the JSON hold the word
    with pytest.raises(AutorewardError, match="no candidate"):
        store.candidate("r1/it09-c09")
