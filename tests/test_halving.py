"""Successive halving: Optuna's decision on constructed fitness sequences, ties, resume, and a clean early stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from llm_server import ScriptedLLMServer, answer

from autoreward.store import RunStore
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


# --- end to end: the CLI with the scripted LLM server, sandboxed workers, a kill and a resume ---------------------

GOOD = "    components = {'upright': 1.0 - 4.0 * abs(state.pole_angle), 'centre': -0.05 * abs(state.cart_position)}"
BAD = "    components = {'hurry': -1.0, 'lean': 5.0 * abs(state.pole_angle)}"  # pays for dropping the pole fast
GOOD_TOO = GOOD.replace("-0.05", "-0.1")  # another good program (an identical one would be a duplicate, not trained)


def _program(body: str) -> str:
    return f"```python\ndef compute_reward(prev, action, state):\n{body}\n    return float(sum(components.values())), components\n```"


def _cli(args: list[str], runs: Path, background: bool = False) -> subprocess.Popen | subprocess.CompletedProcess:
    env = {**os.environ, "OPENAI_API_KEY": "sk-test-halving", "AUTOREWARD_RUNS_DIR": str(runs), "MUJOCO_GL": "egl",
           "COLUMNS": "240"}  # fmt: skip
    argv = [str(Path(sys.executable).parent / "autoreward"), *args, *(["--quiet"] if args[0] != "show" else [])]
    if background:
        return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)  # fmt: skip
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_a_bad_candidate_is_pruned_and_a_resumed_run_does_not_retrain_it(tmp_path: Path) -> None:
    """One worker, so the order is known: the good program trains to the end (the first at each rung is kept),
    the bad one trails it at the first rung and is cut; the run is killed once it is, and the resumed run
    finishes the iteration without touching the pruned one."""
    runs = tmp_path / "runs"
    with ScriptedLLMServer(lambda request: answer(_program(GOOD), _program(BAD), _program(GOOD_TOO))) as server:
        args = ["run", "cartpole-balance", "--iterations", "1", "--samples", "3", "--workers", "1",
                "--timesteps", "27000", "--prune-factor", "2", "--no-llm-review", "--no-video", "--eval-episodes", "2", "--run-id", "cut",
                "--model", "openai/test-model", "--api-base", server.base_url]  # fmt: skip
        proc = _cli(args, runs, background=True)
        deadline = time.monotonic() + 400
        pruned = None
        while time.monotonic() < deadline and pruned is None:
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            if (runs / "runs.sqlite").exists():
                pruned = next((c for c in RunStore(runs).candidates("cut") if c.status == "pruned"), None)
            time.sleep(0.5)
        assert pruned is not None, "the bad candidate was cut"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        stats = runs / "cut" / "it00-c01" / "train" / "stats.json"
        before = stats.stat().st_mtime_ns
        done = _cli(["resume", "cut"], runs)
        assert done.returncode == 0, done.stderr[-3000:]
    store = RunStore(runs)
    rows = {c.id.rpartition("/")[2]: c for c in store.candidates("cut")}
    # The third (another good program) must beat the first at its first rung to go on: either way
    # it has a result now.
    assert [rows[k].status for k in sorted(rows)][:2] == ["trained", "pruned"]
    assert rows["it00-c02"].status in ("trained", "pruned")
    bad = rows["it00-c01"]
    assert stats.stat().st_mtime_ns == before, "resume never retrains a pruned candidate"
    report = RungReport.model_validate(bad.result["pruned"])
    assert report.rung == 0 and report.timesteps < 27000 and bad.fitness is None
    assert (runs / "cut" / "it00-c01" / bad.result["artifacts"]["model"]).stat().st_size > 0
    good = RungReport.model_validate(rows["it00-c00"].result["rungs"][0])
    assert report.value < good.value
    shown = _cli(["show", "cut"], runs)
    assert f"pruned at {report.timesteps} steps" in shown.stdout.replace("\n", " ")
