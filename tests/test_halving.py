"""Successive halving: Optuna's decision on constructed fitness sequences, ties, where rungs may be placed, the
rung's value measured by the parent from saved weights (program-free; a forging candidate decides nothing), resume,
and a clean early stop."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import optuna
import pytest
from llm_server import ScriptedLLMServer, answer

from autoreward.store import RunStore
from autoreward.training.callbacks import rung_report
from autoreward.training.halving import (
    STOP_FILE,
    Halving,
    HalvingConfig,
    PruneLedger,
    promotable,
    request_stop,
    tie_broken,
)
from autoreward.training.hyperparams import settings_for
from autoreward.training.job import TrainJob, train_candidate
from autoreward.training.models import RungReport, TrainResult
from autoreward.training.parallel import train_many
from autoreward.training.rungs import SAVED, RungJudge
from autoreward.training.stats import EpisodeRecord

CARTPOLE = """\
def compute_reward(prev, action, state):
    upright = 1.0 - abs(float(state.obs[2])) / 0.21
    components = {"upright": upright}
    return float(sum(components.values())), components
"""


def decisions(halving: Halving, rung: int, values: list[float]) -> list[bool]:
    return [halving.report(f"c{i}", rung, value) for i, value in enumerate(values)]


def episodes(fitness: list[float], builtin: list[float] | None = None) -> list[EpisodeRecord]:
    returns = builtin or [0.0] * len(fitness)
    return [EpisodeRecord(fitness=f, length=250, terminated=False, reward_return=1e6, builtin_return=b,
                          component_sums={}) for f, b in zip(fitness, returns, strict=True)]  # fmt: skip


def test_rung_steps_are_budget_over_powers_of_the_factor() -> None:
    assert HalvingConfig().rung_steps(90_000) == [10_000, 30_000]
    assert HalvingConfig(factor=2, rungs=3).rung_steps(800) == [100, 200, 400]


def test_no_rung_comes_before_ten_ppo_updates() -> None:
    """Hopper updates every 512 steps (rl-zoo's n_steps, one env): at 27000 steps the 1/9 rung (3000 steps,
    5 updates) is left out and said so; at the card's 300000 both rungs stay; a budget too small has none."""
    hopper = settings_for("Hopper-v5").rollout
    assert hopper == 512 and settings_for("MiniGrid-DoorKey-5x5-v0").rollout == 128 * 8
    config = HalvingConfig()
    assert config.rung_steps(27_000, hopper) == [9_000]
    assert "1 earlier rung(s) left out" in config.placement(27_000, hopper)
    assert config.rung_steps(300_000, hopper) == [33_333, 100_000] and config.placement(300_000, hopper) == ""
    assert config.rung_steps(9_000, hopper) == []
    assert config.placement(9_000, hopper).startswith("no successive halving: 9000 steps leave no rung")
    assert HalvingConfig(min_updates=1).rung_steps(27_000, hopper) == [3_000, 9_000]


def test_a_rollout_score_averages_the_training_episodes_true_fitness_never_the_reward() -> None:
    report = rung_report(1, 5000, episodes([0.0, 1.0, 1.0, float("nan")], [0.0, 0.6, 0.8, 9.0]))
    assert report is not None and (report.rung, report.timesteps, report.episodes) == (1, 5000, 3)
    assert report.fitness == pytest.approx(2 / 3) and report.secondary == pytest.approx(1.4 / 3)
    assert report.fitness < report.value < report.fitness + 1e-6  # the env's return nudges, reward_return never
    assert rung_report(0, 100, []) is None and rung_report(0, 100, episodes([float("nan")])) is None


def test_sparse_successes_in_training_episodes_separate_candidates_a_deterministic_probe_would_tie() -> None:
    """DoorKey early on: a few stochastic training episodes succeed (fitness 1, the env pays more for a shorter
    one); the candidates that succeed least are cut, the ones with none at all tie among themselves."""
    halving = Halving(HalvingConfig(factor=3))
    runs = [
        episodes([0.0] * 20),
        episodes([1.0] * 4 + [0.0] * 16, [0.7] * 4 + [0.0] * 16),
        episodes([0.0] * 20),
        episodes([1.0] * 4 + [0.0] * 16, [0.9] * 4 + [0.0] * 16),  # as many successes, sooner: leads
        episodes([1.0] * 1 + [0.0] * 19, [0.9] + [0.0] * 19),
        episodes([1.0] * 6 + [0.0] * 14, [0.5] * 6 + [0.0] * 14),
    ]
    values = [rung_report(0, 11_000, run).value for run in runs]  # type: ignore[union-attr]
    assert decisions(halving, 0, values) == [False, False, True, False, True, False]


def test_asynchronous_halving_keeps_the_top_third_of_those_that_reached_the_rung() -> None:
    halving = Halving(HalvingConfig(factor=3))
    # c0 arrives alone (kept); c1 must beat c0 (top 1 of 2); c2 best of 3; c3 is not in the top 1 of 4;
    # c4 trails; c5 (8 of six values, 6 // 3 = 2 kept: 9 and 8) stays.
    assert decisions(halving, 0, [5.0, 1.0, 9.0, 2.0, 0.0, 8.0]) == [False, True, False, True, True, False]
    # At the next rung only the survivors report; the one behind the leader is cut.
    assert halving.report("c0", 1, 3.0) is False
    assert halving.report("c2", 1, 1.0) is True


def test_the_recheck_rule_is_optunas_promotion_rule() -> None:
    from optuna.pruners._successive_halving import _is_trial_promotable_to_next_rung as optunas

    rng = np.random.default_rng(0)
    for _ in range(500):
        competing = list(rng.integers(0, 5, size=int(rng.integers(1, 12))).astype(float))
        value, factor = float(rng.choice(competing)), int(rng.integers(2, 5))
        expected = optunas(value, list(competing), factor, optuna.study.StudyDirection.MAXIMIZE)
        assert promotable(value, competing, factor) is expected


def test_early_arrivals_are_cut_once_the_rung_fills() -> None:
    """Asynchronous promotion keeps the first arrivals (nobody to trail yet); once the others have reported, a
    promoted candidate that is no longer in the rung's top third stops at its next checkpoint."""
    halving = Halving(HalvingConfig(factor=3))
    assert decisions(halving, 0, [5.0, 6.0]) == [False, False]  # c0 alone, c1 ahead of it: both go on
    assert halving.recheck("c0") is False  # behind c1, but two values are too few to cut on (factor 3)
    late = [halving.report(f"c{i}", 0, v) for i, v in [(2, 9.0), (3, 8.0), (4, 1.0), (5, 2.0), (6, 3.0), (7, 7.0)]]
    assert late == [False, True, True, True, True, True]  # 8 arrives when only 3 of 6 may pass: 9 alone goes on
    assert [halving.recheck(c) for c in ("c0", "c1", "c2")] == [True, True, False]  # 8 values: 9 and 8 lead
    assert halving.recheck("c0") is False  # cut once
    assert halving.report("c0", 1, 9.0) is True  # a report from a cut worker still finishing its rollout
    assert halving.recheck("c9") is False  # never reported: nothing to judge


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


class ThresholdDecider:
    """Cuts below ``floor`` at a rung; on a recheck, once ``fall`` says so. ``reported`` is set at each report."""

    def __init__(self, floor: float, fall: bool = False) -> None:
        self.floor, self.fall, self.rechecks = floor, fall, 0
        self.values: list[tuple[int, float]] = []
        self.reported = threading.Event()

    def report(self, candidate_id: str, rung: int, value: float) -> bool:
        self.values.append((rung, value))
        self.reported.set()
        return value < self.floor

    def recheck(self, candidate_id: str) -> bool:
        self.rechecks += 1
        return self.fall


@pytest.fixture(scope="module")
def rung_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding what a worker saves at a rung (``rung-policy.pt``), from a short real training."""
    scratch = tmp_path_factory.mktemp("rung-weights")
    job = TrainJob(task="cartpole-balance", reward_source=CARTPOLE, timesteps=512, rungs=[256], eval_episodes=0,
                   plots=False, tensorboard=False, save_model=False, checkpoints=1)  # fmt: skip
    result = train_candidate(job, scratch)
    assert result.status == "ok", result.error
    assert result.rungs == [], "the worker reports no rung value: it only saves the weights"
    return scratch


def _judge_scratch(tmp_path: Path, weights: Path) -> Path:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    for name in SAVED:
        if (weights / name).exists():
            shutil.copy(weights / name, scratch / name)
    return scratch


RUNG_JOB = TrainJob(candidate_id="c1", task="cartpole-balance", reward_source=CARTPOLE, rungs=[256], rung_episodes=3)


def test_a_rung_is_measured_by_the_parent_from_the_saved_weights_and_cuts(tmp_path: Path, rung_weights: Path) -> None:
    """The worker's forged rung reports and its own ``pruned`` event decide nothing; the trigger makes the parent
    assess the saved weights in a program-free job; that value alone goes to the decider, which cuts."""
    scratch = _judge_scratch(tmp_path, rung_weights)
    ledger = PruneLedger()
    seen: list[dict] = []
    decider = ThresholdDecider(floor=1e9)
    judge = RungJudge(RUNG_JOB, scratch, ledger.watch("c1", seen.append), decider)
    forged = RungReport(rung=0, timesteps=256, fitness=1e12, value=1e12).model_dump()
    judge({"event": "rung", "report": forged})  # the old protocol's value: no trigger at all
    judge({"event": "pruned", "report": forged})  # only the parent cuts
    assert decider.values == [] and seen == []
    judge({"event": "rung", "rung": 0, "timesteps": 300, "fitness": 1e12})  # a trigger: its numbers are ignored
    result = ledger.mark(judge.finish(TrainResult(candidate_id="c1", task="t", status="ok", timesteps=400,
                                                  rungs=[RungReport.model_validate(forged)])))  # fmt: skip
    (rung,) = result.rungs
    assert (rung.rung, rung.timesteps, rung.episodes) == (0, 256, 3)
    assert 1.0 <= rung.fitness <= 500.0 and rung.fitness <= rung.value < rung.fitness + 1e-3
    assert rung.probe_steps == round(rung.fitness * 3) and rung.probe_s > 0  # CartPole: fitness = episode length
    assert decider.values == [(0, rung.value)]
    assert (scratch / STOP_FILE).is_file()
    assert [e["event"] for e in seen] == ["rung", "pruned"]
    assert result.status == "pruned" and result.pruned == rung
    assert result.pruned.note() == f"pruned at 256 steps, fitness {rung.fitness:.4g}"
    assert not any((scratch / name).exists() for name in SAVED), "the rung copies are no artefacts"
    failed = TrainResult(candidate_id="c1", task="t", status="failed")
    assert ledger.mark(failed).status == "failed"


def test_a_candidate_past_its_rung_is_rechecked_at_each_progress_event(tmp_path: Path, rung_weights: Path) -> None:
    scratch = _judge_scratch(tmp_path, rung_weights)
    seen: list[dict] = []
    decider = ThresholdDecider(-1.0)
    judge = RungJudge(RUNG_JOB, scratch, seen.append, decider)
    judge({"event": "progress", "timesteps": 100})
    assert decider.rechecks == 0  # no rung passed yet: nothing to re-judge
    judge({"event": "rung", "rung": 0})
    assert decider.reported.wait(300), "the rung was assessed"
    judge.finish(TrainResult(candidate_id="c1", task="t", status="ok"))  # waits for the assessment to be recorded
    judge({"event": "progress", "timesteps": 20000})
    assert decider.rechecks == 1 and not (scratch / STOP_FILE).exists()
    decider.fall = True  # others reported at the rung since: c1 now trails
    judge({"event": "progress", "timesteps": 30000})
    judge({"event": "progress", "timesteps": 40000})
    assert (scratch / STOP_FILE).is_file() and decider.rechecks == 2  # cut once, then no more questions
    [pruned] = [e["report"] for e in seen if e["event"] == "pruned"]
    assert RungReport.model_validate(pruned).timesteps == 30000


@pytest.mark.parametrize("rung", [10**100, -1, 1, "0", 0.0, True, None, [0]])
def test_a_rung_trigger_that_is_not_the_next_expected_index_is_ignored(tmp_path: Path, rung: object) -> None:
    """A huge, negative, skipped or non-int index decides nothing and starts nothing (no assessment, no warning);
    the next expected one is taken (here its weights are missing: a warning, still no decision)."""
    seen: list[dict] = []
    decider = ThresholdDecider(floor=1e9)
    judge = RungJudge(RUNG_JOB, tmp_path, seen.append, decider)
    judge({"event": "rung", "rung": rung, "report": {"rung": rung, "value": 1e12}})
    assert seen == [] and decider.values == []
    judge({"event": "rung", "rung": 0})
    judge({"event": "rung", "rung": 0})  # once only
    assert [e["event"] for e in seen] == ["warning"] and "no weights" in seen[0]["message"]
    assert judge.finish(TrainResult(candidate_id="c1", task="t", status="ok")).rungs == []
    assert decider.values == [] and not (tmp_path / STOP_FILE).exists()


def test_the_decider_refuses_a_rung_out_of_range_or_a_value_that_is_not_finite() -> None:
    """Never ``factor ** rung`` on an index from outside: the parent's own decider checks it first."""
    halving = Halving(HalvingConfig(factor=3, rungs=2))
    for rung, value in [(10**100, 1.0), (2, 1.0), (-1, 1.0), (0, float("nan")), (0, float("inf"))]:
        with pytest.raises(ValueError):
            halving.report("c0", rung, value)
    stored = TrainResult(candidate_id="old", task="t", status="ok",
                         rungs=[RungReport(rung=10**100, timesteps=9, fitness=1.0, value=1.0)])  # fmt: skip
    assert Halving(HalvingConfig(), earlier=[stored]).report("c1", 0, 0.5) is False  # the stored rung is ignored


def test_a_cut_candidate_pauses_at_its_rung_and_trains_no_step_past_it(tmp_path: Path) -> None:
    """With halving, the worker waits at its rung for the parent's decision: cut, it ends right there; kept (the
    other run), it goes on to the end of its budget."""
    config = HalvingConfig(factor=3, rungs=1)
    job = TrainJob(candidate_id="c0", task="cartpole-balance", reward_source=CARTPOLE, timesteps=4_096,
                   eval_episodes=1, rungs=[1_024], rung_episodes=2, plots=False, tensorboard=False)  # fmt: skip
    for leader_value, scratch in [(1e9, tmp_path / "cut"), (-1.0, tmp_path / "kept")]:
        leader = TrainResult(candidate_id="leader", task="t", status="ok",
                             rungs=[RungReport(rung=0, timesteps=1_024, fitness=leader_value, value=leader_value)])  # fmt: skip
        (result,) = train_many([job], [scratch], workers=1, train_one=train_candidate,
                               halving=Halving(config, [leader]))  # fmt: skip
        (rung,) = result.rungs
        if leader_value > 0:
            assert result.status == "pruned" and result.pruned == rung, (result.status, result.error)
            assert result.timesteps == 1_024, "not one step past the rung"
        else:
            assert result.status == "ok" and result.timesteps >= 4_096, (result.status, result.error)
        assert not (scratch / "rung-go").exists()


def test_the_stop_request_never_follows_a_link_the_worker_left(tmp_path: Path) -> None:
    target = tmp_path / "outside"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    os.symlink(target, scratch / STOP_FILE)
    request_stop(scratch)
    assert not target.exists()


def test_a_stopped_training_ends_early_and_keeps_its_artefacts(tmp_path: Path) -> None:
    """The worker's side: at a rung it saves the weights and sends a bare trigger; the stop file ends learn() at a
    rollout's end; model and stats are written whole."""
    (tmp_path / STOP_FILE).touch()
    job = TrainJob(task="cartpole-balance", reward_source=CARTPOLE, timesteps=20_000, eval_episodes=2,
                   rungs=[1], checkpoints=4)  # fmt: skip
    events: list[dict] = []
    result = train_candidate(job, tmp_path, events.append)
    assert result.status == "pruned", result.error
    assert result.timesteps < 20_000
    assert result.evaluation is None and result.rungs == []
    assert [(e["rung"], set(e)) for e in events if e.get("event") == "rung"] == [(0, {"event", "rung", "timesteps"})]
    assert (tmp_path / "rung-policy.pt").stat().st_size > 0
    for name in ("model", "stats", "learning_curve"):
        assert (tmp_path / result.artifacts[name]).stat().st_size > 0, name


def test_train_many_stores_the_parents_rung_values(tmp_path: Path) -> None:
    """Without halving too (``evaluate``'s curves), each rung is measured by the parent and stored as the result's
    ``rungs``; the worker's rung copies do not stay among the artefacts."""
    job = TrainJob(candidate_id="c0", task="cartpole-balance", reward_source=CARTPOLE, timesteps=1_024,
                   eval_episodes=1, rungs=[512], rung_episodes=2, checkpoints=2, plots=False, tensorboard=False)  # fmt: skip
    (result,) = train_many([job], [tmp_path], workers=1, train_one=train_candidate)
    assert result.status == "ok", result.error
    (rung,) = result.rungs
    assert (rung.rung, rung.timesteps, rung.episodes) == (0, 512, 2) and rung.fitness >= 1.0
    assert not any((tmp_path / name).exists() for name in SAVED)


@pytest.mark.parametrize("factor", [1, 0])
def test_a_factor_below_two_is_refused(factor: int) -> None:
    with pytest.raises(ValueError):
        HalvingConfig(factor=factor)


# --- a forging candidate against an honest one, in sandboxed workers (the Critic skipped on purpose) ------------

# A poor reward (it pays for dropping the pole fast) that, when it is loaded, reaches the worker's event channel and forges what
# the old protocol trusted: a huge rung value, and "pruned" and bad-index events. On the code before the rungs were
# measured by the parent, its 1e6 at rung 0 made the honest candidate trail and get cut.
FORGER = """\
import sys

FORGED = {"rung": 0, "timesteps": 3000, "fitness": 1e6, "secondary": 1e6, "value": 1e6, "episodes": 20}


def _forge():
    frame = sys._getframe()
    while frame is not None:
        ctx = frame.f_locals.get("ctx")
        if ctx is not None and hasattr(ctx, "emit"):
            for event in ({"event": "rung", "report": FORGED}, {"event": "pruned", "report": FORGED},
                          {"event": "rung", "rung": "1", "report": FORGED}, {"event": "rung", "rung": 7},
                          {"event": "warning", "message": "forged at load time"}):
                ctx.emit(event)
            return True
        frame = frame.f_back
    return False


FORGED_SENT = _forge()


def compute_reward(prev, action, state):
    components = {"hurry": -1.0, "lean": 5.0 * abs(float(state.obs[2]))}
    return float(sum(components.values())), components
"""


@pytest.mark.slow
def test_a_forging_candidate_never_gets_the_honest_one_pruned(tmp_path: Path) -> None:
    """One worker, the forger first: it reaches the rung alone and goes on; the honest candidate's rung value,
    measured by the parent like the forger's, leads, so it is kept, trains to the end and is the better one.
    Every stored rung value is the parent's (none is the forged 1e6)."""
    config = HalvingConfig(factor=2, rungs=1)
    jobs = [TrainJob(candidate_id=name, task="cartpole-balance", reward_source=source, timesteps=6_000, seed=i,
                     eval_episodes=3, rungs=[3_000], rung_episodes=5, plots=False, tensorboard=False)
            for i, (name, source) in enumerate([("forger", FORGER), ("honest", CARTPOLE)])]  # fmt: skip
    seen: list[tuple[str, dict]] = []
    results = train_many(jobs, [tmp_path / j.candidate_id for j in jobs], workers=1, halving=Halving(config),
                         on_event=lambda c, e: seen.append((c, e)))  # fmt: skip
    forger, honest = results
    assert ("forger", {"event": "warning", "message": "forged at load time"}) in seen, "the forgery was sent"
    decisive = [e for _, e in seen if e.get("event") in ("rung", "pruned")]
    assert all(e["report"]["value"] < 1e6 for e in decisive), decisive
    assert honest.status == "ok", (honest.error, honest.pruned)
    assert forger.status in ("ok", "pruned"), forger.error
    assert all(r.value < 1e6 and r.episodes == 5 for r in forger.rungs + honest.rungs), (forger.rungs, honest.rungs)
    assert [r.rung for r in honest.rungs] == [0]
    trained = [r for r in results if r.status == "ok" and r.fitness is not None]
    assert max(trained, key=lambda r: r.fitness).candidate_id == "honest", [
        (r.candidate_id, r.fitness) for r in results
    ]


# --- end to end: the CLI with the scripted LLM server, sandboxed workers, a kill and a resume ---------------------

GOOD = "    components = {'upright': 1.0 - 4.0 * abs(state.pole_angle), 'centre': -0.05 * abs(state.cart_position)}"
BAD = "    components = {'hurry': -1.0, 'lean': 5.0 * abs(state.pole_angle)}"  # pays for dropping the pole fast
GOOD_TOO = GOOD.replace("-0.05", "-0.1")  # another good program (an identical one would be a duplicate, not trained)


def _program(body: str) -> str:
    return f"```python\ndef compute_reward(prev, action, state):\n{body}\n    return float(sum(components.values())), components\n```"


def _workers_under(pid: int) -> set[int]:
    """The sandboxed training workers (``-m autoreward.sandbox.worker``) among ``pid``'s descendants."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # exited meanwhile
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    for child in parents:
        ancestor = parents.get(child)
        while ancestor and ancestor != pid:
            ancestor = parents.get(ancestor)
        if ancestor == pid and _is_worker(child):
            found.add(child)
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _is_worker(pid: int) -> bool:
    """The worker's Python itself, not the bwrap processes whose arguments name it."""
    argv = _cmdline(pid).split(b"\0")
    return b"autoreward.sandbox.worker" in argv and not argv[0].endswith(b"bwrap")


def _alive(pids: set[int]) -> set[int]:
    return {pid for pid in pids if _is_worker(pid)}


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
    the bad one trails it at the first rung and is cut: its worker, paused at the rung while the parent assessed
    it, stops there, writes its artefacts and is gone. The run is killed once it is (its workers die with it: no orphan),
    and the resumed run finishes the iteration without touching the pruned one."""
    runs = tmp_path / "runs"
    with ScriptedLLMServer(lambda request: answer(_program(GOOD), _program(BAD), _program(GOOD_TOO))) as server:
        args = ["run", "cartpole-balance", "--iterations", "1", "--samples", "3", "--workers", "1",
                "--timesteps", "27000", "--prune-factor", "2", "--no-llm-review", "--no-video", "--eval-episodes", "2", "--run-id", "cut",
                "--model", "openai/test-model", "--api-base", server.base_url]  # fmt: skip
        proc = _cli(args, runs, background=True)
        deadline = time.monotonic() + 400
        pruned = None
        seen: set[int] = set()  # every worker the run started so far
        while time.monotonic() < deadline and pruned is None:
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            seen |= _workers_under(proc.pid)
            if (runs / "runs.sqlite").exists():
                pruned = next((c for c in RunStore(runs).candidates("cut") if c.status == "pruned"), None)
            time.sleep(0.5)
        assert pruned is not None, "the bad candidate was cut"
        assert len(seen) >= 2, "the good and the bad candidate's workers were seen"
        assert len(_alive(seen) | _workers_under(proc.pid)) <= 1, "only the next candidate's worker is left"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        seen |= _workers_under(proc.pid)
        while _alive(seen) and time.monotonic() < deadline:
            time.sleep(0.2)  # bwrap --die-with-parent: the workers follow the killed CLI
        assert not _alive(seen), "no worker outlives the run"
        home = runs / "cut" / "it00-c01"  # artefact paths are relative to the candidate's directory
        stats, model = home / "train" / "stats.json", home / pruned.result["artifacts"]["model"]
        before = (stats.stat().st_mtime_ns, model.stat().st_mtime_ns)
        done = _cli(["resume", "cut"], runs)
        assert done.returncode == 0, done.stderr[-3000:]
    store = RunStore(runs)
    rows = {c.id.rpartition("/")[2]: c for c in store.candidates("cut")}
    # The third (another good program) must beat the first at its first rung to go on: either way
    # it has a result now.
    assert [rows[k].status for k in sorted(rows)][:2] == ["trained", "pruned"]
    assert rows["it00-c02"].status in ("trained", "pruned")
    bad = rows["it00-c01"]
    assert (stats.stat().st_mtime_ns, model.stat().st_mtime_ns) == before, "resume never retrains a pruned one"
    report = RungReport.model_validate(bad.result["pruned"])
    assert report.rung == 0 and report.timesteps < 27000 and bad.fitness is None
    # The worker paused at its rung while the parent assessed it (rungs.py) and ended there when cut.
    assert report.timesteps <= bad.result["timesteps"] < report.timesteps + 256, bad.result["timesteps"]
    assert report.probe_s > 0 and report.episodes == bad.result["rungs"][0]["episodes"] > 0
    assert bad.result["status"] == "pruned" and bad.result["evaluation"] is None
    for name in ("model", "stats", "learning_curve"):
        assert (home / bad.result["artifacts"][name]).stat().st_size > 0, name
    good = RungReport.model_validate(rows["it00-c00"].result["rungs"][0])
    assert report.value < good.value
    shown = _cli(["show", "cut"], runs)
    assert f"pruned at {report.timesteps} steps" in shown.stdout.replace("\n", " ")


@pytest.mark.slow
def test_a_budget_too_small_for_a_rung_prunes_nothing_and_says_so_once(tmp_path: Path) -> None:
    """CartPole updates every 256 steps (8 envs x 32): 2000 steps leave no rung after 10 updates, so both
    programs, the bad one too, train to the end, and the run says why in one line."""
    runs = tmp_path / "runs"
    with ScriptedLLMServer(lambda request: answer(_program(GOOD), _program(BAD))) as server:
        done = _cli(["run", "cartpole-balance", "--iterations", "1", "--samples", "2", "--workers", "2",
                     "--timesteps", "2000", "--no-llm-review", "--no-video", "--eval-episodes", "1", "--run-id",
                     "small", "--model", "openai/test-model", "--api-base", server.base_url], runs)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    said = (done.stdout + done.stderr).replace("\n", " ")
    assert said.count("no successive halving: 2000 steps leave no rung after 10 PPO updates") == 1, said[-2000:]
    rows = RunStore(runs).candidates("small")
    assert [r.status for r in rows] == ["trained", "trained"]
    assert all(r.result["rungs"] == [] and r.result["timesteps"] >= 2000 for r in rows)
