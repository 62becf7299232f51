"""`autoreward evaluate`: rliable's numbers on a hand-computed case, the plan's errors, and (slow) real multi-seed
evaluations of CartPole programs against the built-in reward, including a SIGKILL and a resume."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autoreward.cli import app
from autoreward.intervals import Interval, normalized, summarize
from autoreward.store import RunStore

CLI = str(Path(sys.executable).parent / "autoreward")
runner = CliRunner()

UPRIGHT = """\
def compute_reward(prev, action, state):
    upright = 1.0 - abs(float(state.obs[2])) / 0.21
    centre = -0.1 * abs(float(state.obs[0]))
    components = {"upright": upright, "centre": centre}
    return float(sum(components.values())), components
"""

# Costs 1 a step: the policy learns to end episodes (drop the pole) as soon as it can.
HURRY = """\
def compute_reward(prev, action, state):
    components = {"time": -1.0 + 0.0 * float(state.obs[2])}
    return float(sum(components.values())), components
"""


# --- rliable against hand-computed numbers ---------------------------------------------------------------------


def test_iqm_mean_and_probability_of_improvement_match_a_hand_computed_case() -> None:
    # IQM of 1..8 trims the lowest and highest quarter: mean(3, 4, 5, 6) = 4.5; the mean is 4.5 too.
    # P(a > b): of the 8 x 4 pairs, a beats 0.5 in 8, 2.5 in 6, 4.5 in 4 and 9 in 0 -> 18 / 32 = 0.5625.
    a = [1, 2, 3, 4, 5, 6, 7, 8]
    b = [0.5, 2.5, 4.5, 9]
    skewed = [0, 0, 10, 10, 10, 10, 100, 1000]  # IQM (10) ignores the outliers that drag the mean to 142.5
    by_name = {s.method: s for s in summarize({"a": a, "b": b, "skewed": skewed}, baselines=["b"], reps=500)}
    assert by_name["a"].iqm.value == pytest.approx(4.5) and by_name["a"].mean.value == pytest.approx(4.5)
    assert by_name["b"].iqm.value == pytest.approx(3.5)  # 4 runs: trim one from each end, mean(2.5, 4.5)
    assert by_name["skewed"].iqm.value == pytest.approx(10.0)
    assert by_name["skewed"].mean.value == pytest.approx(142.5)
    improvement = by_name["a"].improvement["b"]
    assert improvement.value == pytest.approx(18 / 32)
    assert 0.0 <= improvement.low <= improvement.value <= improvement.high <= 1.0
    assert by_name["b"].improvement == {}  # a baseline is not compared with itself
    for s in by_name.values():
        assert min(s.scores) <= s.iqm.low <= s.iqm.value <= s.iqm.high <= max(s.scores)
    assert 1.0 <= by_name["a"].mean.low < 4.5 < by_name["a"].mean.high <= 8.0


def test_summaries_are_reproducible_and_skip_methods_without_scores() -> None:
    first = summarize({"a": [1.0, 3.0, 2.0], "b": [0.0, 1.0, 0.5], "none": []}, ["b"], reps=300, seed=7)
    again = summarize({"a": [1.0, 3.0, 2.0], "b": [0.0, 1.0, 0.5], "none": []}, ["b"], reps=300, seed=7)
    assert [s.method for s in first] == ["a", "b"]
    assert first == again
    assert first[0].improvement["b"].value == pytest.approx(8.5 / 9)  # 8 of 9 pairs won, 1 tie (1 vs 1) counts half


def test_human_normalised_score() -> None:
    score = Interval(value=15.0, low=12.0, high=18.0)
    assert normalized(score, builtin=10.0, reference=20.0) == Interval(value=0.5, low=0.2, high=0.8)
    assert normalized(score, builtin=30.0, reference=20.0) == Interval(value=-1.5, low=-1.8, high=-1.2)
    assert normalized(score, builtin=10.0, reference=10.0) is None


# --- bad input: one line, no traceback -------------------------------------------------------------------------


def test_bad_targets_are_one_line_errors(tmp_path: Path) -> None:
    reward = tmp_path / "mine.py"
    reward.write_text(UPRIGHT)
    runs = ["--runs-dir", str(tmp_path / "runs")]
    cases = {
        "needs --task TASK": ["evaluate", str(reward), *runs],
        "no run 'nope'": ["evaluate", "nope", *runs],
        "no reward file": ["evaluate", str(tmp_path / "missing.py"), "--task", "cartpole-balance", *runs],
        "no baseline reward file": [
            "evaluate", str(reward), "--task", "cartpole-balance", "--baseline", "absent.py", *runs,
        ],
        "unknown task": ["evaluate", str(reward), "--task", "no-such-task", *runs],
    }  # fmt: skip
    for expected, args in cases.items():
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert expected in result.stderr and "Traceback" not in result.output
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_cards_reference_joins_as_a_baseline(tmp_path: Path) -> None:
    from autoreward.evaluation_plan import plan

    (tmp_path / "mine.py").write_text(UPRIGHT)
    (tmp_path / "hand.py").write_text(HURRY)
    card = tmp_path / "cart.toml"
    card.write_text('name = "cart"\nenv_id = "CartPole-v1"\nintent = "Balance."\nfitness = "episode_length"\n'
                    'reference = "hand.py"\n')  # fmt: skip
    spec, _ = plan(RunStore(tmp_path / "runs"), [str(tmp_path / "mine.py")], str(card), [], 3, 1000, 2)
    assert [(m.name, m.baseline, m.source is None) for m in spec.methods] == [
        ("mine", False, False), ("builtin", True, True), ("reference", True, False),
    ]  # fmt: skip
    assert spec.seeds == [500_000, 500_001, 500_002]
    again, _ = plan(RunStore(tmp_path / "runs"), [str(tmp_path / "mine.py")], str(card), [], 3, 1000, 2)
    assert again.evaluation_id(_) == spec.evaluation_id(_)  # the same command names the same evaluation


# --- slow: real training on fresh seeds ------------------------------------------------------------------------


def _cli(args: list[str], runs: Path, background: bool = False) -> subprocess.Popen | subprocess.CompletedProcess:
    env = {**os.environ, "AUTOREWARD_RUNS_DIR": str(runs), "MUJOCO_GL": "egl"}
    argv = [CLI, *args]
    if background:
        return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)  # fmt: skip
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_evaluate_three_seeds_against_builtin_and_a_reward_file(tmp_path: Path) -> None:
    (tmp_path / "upright.py").write_text(UPRIGHT)
    (tmp_path / "hurry.py").write_text(HURRY)
    args = ["evaluate", str(tmp_path / "upright.py"), "--task", "cartpole-balance", "--seeds", "3",
            "--timesteps", "3000", "--episodes", "3", "--baseline", "builtin", "--baseline",
            str(tmp_path / "hurry.py"), "--json", "-q"]  # fmt: skip
    done = _cli(args, tmp_path / "runs")
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    methods = {m["method"]: m for m in summary["methods"]}
    assert set(methods) == {"upright", "builtin", "hurry"} and summary["baselines"] == ["builtin", "hurry"]
    assert all(m["seeds"] == 3 and len(m["scores"]) == 3 for m in methods.values())
    assert set(methods["upright"]["improvement"]) == {"builtin", "hurry"}
    # The shaped reward keeps the pole up; paying for time drops it: every seed separates them.
    assert min(methods["upright"]["scores"]) > max(methods["hurry"]["scores"]), methods
    assert methods["upright"]["improvement"]["hurry"]["value"] == 1.0
    for name in ("intervals", "curves"):
        assert Path(summary["plots"][name]).stat().st_size > 10_000
    store = RunStore(tmp_path / "runs")
    rows = store.seed_results(summary["id"])
    assert len(rows) == 9 and {r.seed for r in rows} == {500_000, 500_001, 500_002}
    builtin = [r for r in rows if r.method == "builtin"]
    assert all(set(r.result["checkpoints"][-1]["components"]) == {"builtin"} for r in builtin)
    assert store.evaluation(summary["id"]).meta["provenance"]["versions"]["stable-baselines3"]

    shown = _cli(["show", summary["id"]], tmp_path / "runs")  # an evaluation shows its table
    assert shown.returncode == 0 and "IQM" in shown.stdout and "upright" in shown.stdout, shown.stderr


def _stored(runs: Path) -> list[tuple[str, int, float]]:
    db = runs / "runs.sqlite"
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        try:
            return conn.execute("SELECT method, seed, created FROM evaluation_seeds ORDER BY created").fetchall()
        except sqlite3.OperationalError:
            return []


@pytest.mark.slow
def test_sigkill_during_evaluate_then_the_same_command_resumes_without_losing_a_seed(tmp_path: Path) -> None:
    (tmp_path / "upright.py").write_text(UPRIGHT)
    runs = tmp_path / "runs"
    args = ["evaluate", str(tmp_path / "upright.py"), "--task", "cartpole-balance", "--seeds", "2",
            "--timesteps", "1500", "--episodes", "2", "--workers", "1", "-q"]  # fmt: skip
    proc = _cli(args, runs, background=True)
    deadline = time.monotonic() + 600
    while not _stored(runs):
        assert time.monotonic() < deadline, "no seed finished in time"
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    before = _stored(runs)
    assert 1 <= len(before) < 4, "the kill came while seeds were still training"

    done = _cli(args, runs)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"{len(before)} of 4 trainings stored" in done.stderr
    after = _stored(runs)
    assert len(after) == 4
    assert set(before) <= set(after), "a seed finished before the kill was trained again"
