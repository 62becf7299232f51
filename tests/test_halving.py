"""Successive halving: Optuna's decision on constructed fitness sequences, ties, resume, and a clean early stop."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autoreward.training.halving import (
    STOP_FILE,
    Halving,
    HalvingConfig,
    PruneLedger,
    request_stop,
    rung_events,
    tie_broken,
)
from autoreward.training.job import TrainJob, train_candidate
from autoreward.training.models import RungReport, TrainResult

CARTPOLE = """\
def compute_reward(prev, action, state):
    upright = 1.0 - abs(float(state.obs[2])) / 0.21
    components = {"upright": upright}
    return float(sum(components.values())), components
"""


def decisions(halving: Halving, rung: int, values: list[float]) -> list[bool]:
    return [halving.report(f"c{i}", rung, value) for i, value in enumerate(values)]


def test_rung_steps_are_budget_over_powers_of_the_factor() -> None:
    assert HalvingConfig().rung_steps(90_000) == [10_000, 30_000]
    assert HalvingConfig(factor=2, rungs=3).rung_steps(800) == [100, 200, 400]


def test_asynchronous_halving_keeps_the_top_third_of_those_that_reached_the_rung() -> None:
    halving = Halving(HalvingConfig(factor=3))
    # c0 arrives alone (kept); c1 must beat c0 (top 1 of 2); c2 best of 3; c3 is not in the top 1 of 4;
    # c4 trails; c5 (8 of six values, 6 // 3 = 2 kept: 9 and 8) stays.
    assert decisions(halving, 0, [5.0, 1.0, 9.0, 2.0, 0.0, 8.0]) == [False, True, False, True, True, False]
    # At the next rung only the survivors report; the one behind the leader is cut.
    assert halving.report("c0", 1, 3.0) is False
    assert halving.report("c2", 1, 1.0) is True


def test_a_tie_alone_never_prunes() -> None:
    halving = Halving(HalvingConfig(factor=3))
    assert decisions(halving, 0, [0.0] * 6) == [False] * 6
    assert decisions(halving, 1, [0.0] * 6) == [False] * 6


def test_the_env_return_breaks_a_fitness_tie_but_never_reorders_distinct_fitness() -> None:
    halving = Halving(HalvingConfig(factor=3))
    values = [tie_broken(0.0, s) for s in (-50.0, 10.0, -80.0)]
    assert decisions(halving, 0, values) == [False, False, True]
    assert tie_broken(1.0, -1e9) > tie_broken(1.0 - 1e-6, 1e9)
    assert tie_broken(0.0, None) == 0.0


def test_a_resumed_iteration_judges_like_the_uninterrupted_one() -> None:
    first = Halving(HalvingConfig(factor=3))
    assert decisions(first, 0, [5.0, 1.0]) == [False, True]
    stored = [
        TrainResult(candidate_id="c0", task="t", status="ok", rungs=[RungReport(rung=0, timesteps=9, fitness=5.0,
                                                                               value=5.0)]),
        TrainResult(candidate_id="c1", task="t", status="pruned", rungs=[RungReport(rung=0, timesteps=9, fitness=1.0,
                                                                                   value=1.0)]),
    ]  # fmt: skip
    resumed = Halving(HalvingConfig(factor=3), earlier=stored)
    assert resumed.report("c2", 0, 4.0) is first.report("c2", 0, 4.0) is True
    assert resumed.report("c3", 0, 9.0) is first.report("c3", 0, 9.0) is False


def test_a_cut_candidate_is_asked_to_stop_and_marked_pruned(tmp_path: Path) -> None:
    ledger = PruneLedger()
    seen: list[dict] = []
    sink = ledger.watch("c1", seen.append)
    report = RungReport(rung=0, timesteps=100, fitness=2.5, value=2.5)
    events = rung_events("c1", sink, lambda cid, rung, value: value < 3, lambda: request_stop(tmp_path))
    events({"event": "rung", "report": report.model_dump()})
    assert (tmp_path / STOP_FILE).is_file()
    assert [e["event"] for e in seen] == ["rung", "pruned"]
    events({"event": "rung", "report": {"rung": "not a number"}})  # a malformed report decides nothing
    result = ledger.mark(TrainResult(candidate_id="c1", task="t", status="ok", timesteps=120))
    assert result.status == "pruned" and result.pruned == report
    assert result.pruned.note() == "pruned at 100 steps, fitness 2.5"
    failed = TrainResult(candidate_id="c1", task="t", status="failed")
    assert ledger.mark(failed).status == "failed"


def test_the_stop_request_never_follows_a_link_the_worker_left(tmp_path: Path) -> None:
    target = tmp_path / "outside"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    os.symlink(target, scratch / STOP_FILE)
    request_stop(scratch)
    assert not target.exists()


def test_a_stopped_training_ends_early_and_keeps_its_artefacts(tmp_path: Path) -> None:
    """The worker's side: the stop file ends learn() at a rollout's end; model and stats are written whole."""
    (tmp_path / STOP_FILE).touch()
    job = TrainJob(task="cartpole-balance", reward_source=CARTPOLE, timesteps=20_000, eval_episodes=2,
                   rungs=[1], rung_eval_episodes=1, checkpoints=4)  # fmt: skip
    events: list[dict] = []
    result = train_candidate(job, tmp_path, events.append)
    assert result.status == "pruned", result.error
    assert result.timesteps < 20_000
    assert result.evaluation is None
    assert [r.rung for r in result.rungs] == [0]
    assert any(e.get("event") == "rung" for e in events)
    for name in ("model", "stats", "learning_curve"):
        assert (tmp_path / result.artifacts[name]).stat().st_size > 0


@pytest.mark.parametrize("factor", [1, 0])
def test_a_factor_below_two_is_refused(factor: int) -> None:
    with pytest.raises(ValueError):
        HalvingConfig(factor=factor)
