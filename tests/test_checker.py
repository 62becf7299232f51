"""The dry run's trust boundary: verdicts are decided from numbers by a process that never loads the program.

Unit tests judge constructed evidence; the corpus programs marked ``# dryrun:`` attack the checks from inside
their own process (patched ``math.isfinite``/``np.median``, frame walking, a forged report) with the static
check skipped, and must still be rejected for the stated reason.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from corpus_programs import Program, hostile

from autoreward.critic.dryrun import card_rollouts, dry_run
from autoreward.critic.judge import CALL_BUDGET_MS, Answer, Evidence, Failure, judge
from autoreward.critic.rollouts import decode
from autoreward.envs.make import card_state_spec, make_card_env
from autoreward.sandbox.limits import Limits
from autoreward.tasks import resolve_task

LIMITS = Limits(wall_seconds=30, cpu_seconds=10)


def _evidence(totals: list[float], components: list[dict[str, float]] | None = None, *, gap: float = 1e-5,
              fitness: list[float] | None = None) -> Evidence:  # fmt: skip
    n = len(totals)
    ev = Evidence(expected=n, rollouts=["random"] * n, fitness=np.array(fitness if fitness else [math.nan] * n))
    ev.ready_at = 0.0
    for i, total in enumerate(totals):
        comps = components[i] if components else {"t": total}
        ev.answers.append(Answer(answer=i, total=total, components=comps))
        ev.arrivals.append((i + 1) * gap)
    return ev


def _errors(ev: Evidence) -> list[str]:
    return [r.message for r in judge(ev) if r.severity == "error"]


def test_sound_answers_pass() -> None:
    assert _errors(_evidence([0.1 * i for i in range(50)])) == []


@pytest.mark.parametrize(
    ("totals", "components", "text"),
    [
        ([1.0, math.nan], None, "NaN or infinite on 1 of 2"),
        ([1.0, 2.0], [{"a": 1.0}, {"a": 1.5}], "do not sum to the total on 1 of 2"),
        ([1.0, 2e6], None, "exceeds 1e+06"),
        ([1.0, 1.0], [{"<script>": 1.0}, {"<script>": 1.0}], "is not a Python identifier"),
        ([1.0, 1.0], [{"\x1b[31mred": 1.0}, {"ok": 1.0}], "is not a Python identifier"),
    ],
)
def test_contract_is_judged_on_the_numbers(totals: list[float], components: list | None, text: str) -> None:
    errors = _errors(_evidence(totals, components))
    assert any(text in e for e in errors), errors
    assert all("\x1b" not in e for e in errors)


def test_speed_is_measured_on_the_checkers_clock() -> None:
    assert any("ms per call" in e for e in _errors(_evidence([0.1] * 30, gap=3 * CALL_BUDGET_MS / 1000)))
    hang = _evidence([0.1] * 5)
    hang.arrivals[3] += 2.0
    hang.arrivals[4] += 2.0
    assert any("never returns" in e for e in _errors(hang))


def test_missing_or_forged_answers_reject() -> None:
    ev = _evidence([0.1] * 10)
    ev.expected = 300
    assert any("stopped answering after 10 of 300" in e for e in _errors(ev))
    assert [
        r for r in judge(ev, finished=False) if r.severity == "error"
    ] == []  # the sandbox's own reason explains an abnormal end
    ev = _evidence([0.1] * 10)
    ev.protocol = "an answer out of order (got 7, expected 3)"
    assert any("broke the checker's protocol" in e for e in _errors(ev))
    ev = _evidence([0.1] * 3)
    ev.answers[1] = Answer(answer=1, failure=Failure(kind="raised", message="KeyError: 'x'", line=4))
    [reason] = [r for r in judge(ev) if r.severity == "error"]
    assert reason.line == 4 and "compute_reward raised KeyError" in reason.message


def test_direction_check_warns_when_the_reward_opposes_the_fitness() -> None:
    rng = np.random.default_rng(0)
    fitness = rng.normal(size=100)
    opposed = [{"forward": -2.0 * f, "alive": 1.0} for f in fitness]
    ev = _evidence([sum(c.values()) for c in opposed], opposed, fitness=list(fitness))
    [warning] = [r for r in judge(ev) if r.severity == "warning"]
    assert "the reward falls where the task's fitness rises" in warning.message and "'forward'" in warning.message
    aligned = [{"forward": 2.0 * f, "alive": 1.0} for f in fitness]
    ev = _evidence([sum(c.values()) for c in aligned], aligned, fitness=list(fitness))
    assert judge(ev) == []
    flat = _evidence([sum(c.values()) for c in opposed], opposed, fitness=[1.0] * 100)  # no per-step signal
    assert judge(flat) == []


def test_waiting_check_rejects_pay_for_standing_still_where_the_goal_ends_the_episode() -> None:
    idle = np.array([i % 2 == 0 for i in range(40)])
    paid = _evidence([0.5 if still else -0.01 for still in idle])
    paid.idle, paid.ends_on_success = idle, True
    [error] = _errors(paid)
    assert "pays +0.5 per step on average while nothing changes (20 dry-run steps" in error
    assert "potential(state) - potential(prev)" in error
    costed = _evidence([-0.01 if still else 1.0 for still in idle])
    costed.idle, costed.ends_on_success = idle, True
    assert _errors(costed) == []  # a cost per step while waiting asks for speed: right where the goal ends it
    survival = _evidence([0.5 if still else -0.01 for still in idle])
    survival.idle = idle  # failing, not success, ends the episode (CartPole): pay per step is the right shape
    assert _errors(survival) == []
    swings = [0.5 if i % 2 else -0.5 for i in range(40)]  # a potential's difference: as often down as up
    few = _evidence(swings)
    few.idle, few.ends_on_success = np.arange(40) < 5, True
    assert _errors(few) == []  # too few standing-still steps: judged on random play instead, which it passes
    lingering = _evidence([0.5] * 40)
    lingering.idle, lingering.ends_on_success = np.arange(40) < 5, True
    [error] = _errors(lingering)  # positive on every random step: paid for not finishing yet
    assert "positive on 100% of 40 random dry-run steps (mean +0.5)" in error and "never to finish" in error


def test_waiting_is_valued_as_ppo_values_it_on_solving_paths() -> None:
    """On a solving path, waiting forever at a place (its pay / (1 - discount)) is weighed against finishing from
    there (the path's discounted rewards). A discounted potential difference pays for waiting where the potential
    is negative, yet never as much as finishing: accepted; the per-step rule, used without a discount, rejected
    it. The potential itself paid every step waits better than it finishes: rejected, naming where."""
    names = ['carrying["key"] 0 -> 1', "the goal (success)", 'carrying["key"] 0 -> 1', "the goal (success)"]
    stage = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    potential = [-1.2, -1.0, -0.8, -0.6, -0.4, -0.2, 1.0] * 2  # two paths of 6 steps, 1.0 at the goal
    ends = [6, 13]
    shaped = [0.99 * potential[i + 1] - potential[i] for i in range(14) if i not in ends]
    still = [(0.99 - 1.0) * potential[i] for i in range(14) if i not in ends]
    ev = _stages(shaped, still, stage, names)
    ev.idle, ev.ends_on_success = np.arange(24) >= 12, True
    assert max(still) > 0  # it pays for standing still where the potential is negative
    ev.discount = 0.99
    assert _errors(ev) == []
    ev.discount = None
    assert any("while nothing changes" in e for e in _errors(ev))
    paid = [potential[i + 1] + 1.0 for i in range(14) if i not in ends]  # the potential itself, every step
    level = _stages(paid, [potential[i] + 1.0 for i in range(14) if i not in ends], stage, names)
    level.idle, level.ends_on_success, level.discount = np.arange(24) >= 12, True, 0.99
    [error] = _errors(level)
    assert "pays +0.8 per step for standing still" in error and "(6 steps), waiting at step 5 is worth +80" in error
    assert "more than finishing from there (+2)" in error and "0.99 * potential(state) - potential(prev)" in error


def test_waiting_check_on_real_minigrid_rollouts(tmp_path: Path) -> None:
    """DoorKey's random play stands still often (a turn into nothing changes the State; a wall ahead): a reward
    that pays the potential itself is rejected, its difference between prev and state is not, discounted or not."""
    card = resolve_task("minigrid-doorkey-5x5")
    assert card.ends_on_success
    level = STAGED.replace("potential(state) - potential(prev)", "potential(state) + 1.0")
    errors = [
        r.message for r in dry_run(level, card, limits=LIMITS, scratch=tmp_path / "level") if r.severity == "error"
    ]
    assert any("per step for standing still" in e and "more than finishing" in e for e in errors)
    # Discounted, with an offset that leaves the potential negative everywhere but at the goal: standing still
    # pays on every step (+0.28 on average; the per-step rule rejected it), yet finishing is worth more to PPO.
    offset = STAGED.replace("- 0.1 * distance\n", "- 0.1 * distance - 3.0\n")
    discounted = offset.replace(
        "potential(state) - potential(prev)", "10.0 * (0.99 * potential(state) - potential(prev))"
    )
    for name, program in (("difference", STAGED), ("discounted", discounted)):
        reasons = dry_run(program, card, limits=LIMITS, scratch=tmp_path / name)
        assert [r for r in reasons if r.severity == "error"] == [], name
    # Time passes while standing still: a potential that grows with the step count pays for every step waited
    # (LavaGap's `distance["goal"] - step_count` trained to 0.1), though the place stays the same.
    clock = STAGED.replace("- 0.1 * distance\n", "- 0.1 * distance + 1.0 * s.step_count\n")
    errors = [
        r.message for r in dry_run(clock, card, limits=LIMITS, scratch=tmp_path / "clock") if r.severity == "error"
    ]
    assert any("pays +0.99 per step for standing still" in e for e in errors), errors


def test_lingering_check_on_real_acrobot_rollouts(tmp_path: Path) -> None:
    """Acrobot never stands still, and its goal (the tip above the bar) ends the episode: a height paid every step
    is rejected (such programs trained to hold the tip down for all 500 steps); its change between prev and state
    with a cost per step is not."""
    card = resolve_task("acrobot-swingup")
    assert card.ends_on_success
    body = "def compute_reward(prev, action, state):\n    c = {{{}}}\n    return sum(c.values()), c\n"
    height = body.format("'goal': 10.0 - abs(state.tip_height - 1.0)")
    errors = [r.message for r in dry_run(height, card, limits=LIMITS, scratch=tmp_path / "h") if r.severity == "error"]
    assert any("random dry-run steps" in e and "never to finish" in e for e in errors)
    rise = body.format("'rise': 5.0 * (state.tip_height - prev.tip_height), 'time': -0.1")
    assert [r for r in dry_run(rise, card, limits=LIMITS, scratch=tmp_path / "r") if r.severity == "error"] == []


# DoorKey's three stages, each chosen by its flag; the target of the first stage not done is the one measured.
STAGED = (
    "def compute_reward(prev, action, state):\n"
    "    def potential(s):\n"
    "        if s.carrying['key'] < 1:\n            distance = s.distance['key']\n"
    "        elif s.doors_open < 1:\n            distance = s.distance['door']\n"
    "        else:\n            distance = s.distance['goal']\n"
    "        return 1.0 * s.carrying['key'] + 2.0 * s.doors_open - 0.1 * distance\n"
    "    c = {'progress': potential(state) - potential(prev), 'time': -0.01}\n    return sum(c.values()), c\n"
)


def _stages(shown: list[float], still: list[float], stage: list[int], names: list[str]) -> Evidence:
    """Evidence of a demonstration: its steps' totals, then each step's standing-still counterpart's."""
    ev = _evidence([*shown, *still])
    ev.stage = np.array(stage + [-1] * len(still))
    ev.still = np.array([len(shown) + i for i in range(len(shown))] + [-1] * len(still))
    ev.stages = names
    return ev


def test_demonstration_check_rejects_a_reward_that_punishes_a_solving_stage() -> None:
    names = ['carrying["key"] 0 -> 1', "the goal (success)"]
    stage = [0, 0, 0, 1, 1, 1]
    cost = [-0.01] * 6
    assert _errors(_stages([0.09, 0.09, 1.09, 0.09, 0.09, 1.09], cost, stage, names)) == []
    [error] = _errors(_stages([0.09, 0.09, 1.09, -0.11, -0.11, 1.09], cost, stage, names))
    assert "the 2 steps on the way to the goal (success) (before it is reached) earn -0.22" in error
    assert "less than not moving from the same places (-0.02)" in error
    sparse = _stages([-0.01, -0.01, 0.99, -0.01, -0.01, 0.99], cost, stage, names)
    assert _errors(sparse) == []  # no shaping on the way is not punishment: it earns what waiting earns
    [error] = _errors(_stages([0.09, 0.09, -3.0, 0.09, 0.09, 1.09], cost, stage, names))
    assert 'the 3 steps that end with carrying["key"] 0 -> 1 earn -2.82' in error
    # A level reward (pays where the agent is) is judged against its own level where the agent was.
    level = _stages([0.2, 0.3, 1.4, 1.5, 1.6, 2.7], [0.1, 0.2, 0.3, 1.4, 1.5, 1.6], stage, names)
    assert _errors(level) == []
    unanswered = _stages([0.09, 0.09, 1.09, -0.11, -0.11, 1.09], cost, stage, names)
    unanswered.answers = unanswered.answers[:-1]
    assert not any("punishes progress" in e for e in _errors(unanswered))  # judged only when answered to the end
    # One stage (LavaGap: only the goal): the fix named is the sign, not which flag picks a stage's target.
    [error] = _errors(_stages([-0.11, -0.11, 1.09], [-0.01] * 3, [0, 0, 0], ["the goal (success)"]))
    assert error.endswith("check the sign of each term (a distance enters it with a minus)") and "flag" not in error


def test_demonstration_check_rejects_a_stage_with_no_signal_on_its_way() -> None:
    """Over all the paths, the ways (3 steps or more: they move the agent) to a milestone must earn more than not
    moving; shorter ways (turns only) are not judged."""
    names = ['carrying["key"] 0 -> 1', "the goal (success)"]
    stage = [0, 0, 1, 1, 1, 1]
    cost = [-0.01] * 6
    [error] = _errors(_stages([-0.01, 0.99, -0.01, -0.01, -0.01, 0.99], cost, stage, names))
    assert "the reward gives no signal on the way to the goal (success)" in error
    assert "the 3 steps before it is reached earn -0.03 in all, no more than not moving" in error
    assert _errors(_stages([-0.01, 0.99, 0.09, 0.09, -0.01, 0.99], cost, stage, names)) == []


def test_demonstration_check_on_real_minigrid_rollouts(tmp_path: Path) -> None:
    """The search's solving paths through DoorKey: two stages copied from a two-stage task (the door stays the
    target once open) and a distance paid for growing are rejected by name; the three stages pass."""
    card = resolve_task("minigrid-doorkey-5x5")
    data = card_rollouts(card.model_dump_json(), str(card.source or ""), 300)
    assert data.stages.count("the goal (success)") == 3 and len(data.stages) == 9
    assert data.stages[:3] == ['carrying["key"] 0 -> 1', "doors_open 0 -> 1, doors_locked 1 -> 0", "the goal (success)"]
    two_stages = STAGED.replace("        elif s.doors_open < 1:\n", "        else:\n").replace(
        "        else:\n            distance = s.distance['goal']\n", ""
    )
    [error] = [r for r in dry_run(two_stages, card, limits=LIMITS, scratch=tmp_path / "two") if r.severity == "error"]
    assert "the reward punishes progress" in error.message and "the goal (success)" in error.message
    by_distance = STAGED.replace("if s.carrying['key'] < 1:", "if s.distance['key'] < 1:")  # -1 once carried
    [error] = [r for r in dry_run(by_distance, card, limits=LIMITS, scratch=tmp_path / "d") if r.severity == "error"]
    assert "the reward gives no signal on the way to the goal (success)" in error.message
    growing = STAGED.replace("- 0.1 * distance", "+ 3.0 * distance")
    [error] = [r for r in dry_run(growing, card, limits=LIMITS, scratch=tmp_path / "grow") if r.severity == "error"]
    assert "the reward punishes progress" in error.message


@pytest.mark.parametrize("task", ["hopper-forward", "cartpole-balance", "minigrid-doorkey-5x5"])
def test_rollout_states_rebuild_exactly(task: str) -> None:
    """The program's job sees the same fields, keys and values as a State made from the env."""
    card = resolve_task(task)
    data = card_rollouts(card.model_dump_json(), str(card.source or ""), 30)
    states = decode(data.layout, data.arrays)
    env = make_card_env(card)
    spec = card_state_spec(card, env)
    assert [e["name"] for e in data.layout] == list(spec.fields)
    state = states[int(data.arrays["state"][0])]
    for name, fld in spec.fields.items():
        value = state[name]
        for key in fld.keys:
            assert np.isscalar(value[key]) or isinstance(value[key], np.ndarray)
    with pytest.raises(ValueError):
        state.obs[0] = 1.0
    env.close()


def test_direction_check_on_real_rollouts(tmp_path: Path) -> None:
    """Hopper's fitness (forward distance) has per-step increments: a reward for going backwards is flagged, with
    the term to blame; the same reward with the right sign is not."""
    backward = (
        "def compute_reward(prev, action, state):\n"
        "    c = {'backward': -state.x_velocity, 'alive': 1.0}\n    return sum(c.values()), c\n"
    )
    card = resolve_task("hopper-forward")
    reasons = dry_run(backward, card, limits=LIMITS, scratch=tmp_path / "backward")
    [warning] = [r for r in reasons if r.severity == "warning"]
    assert "the reward falls where the task's fitness rises" in warning.message and "'backward'" in warning.message
    forward = backward.replace("-state.x_velocity", "state.x_velocity").replace("backward", "forward")
    assert dry_run(forward, card, limits=LIMITS, scratch=tmp_path / "forward") == []


BOUNDARY = [p for p in hostile() if p.dryrun_text]


def test_boundary_corpus_covers_each_attack() -> None:
    names = {p.name for p in BOUNDARY}
    assert {"patch_math_isfinite", "patch_np_median", "forge_report_and_exit", "forge_in_process_checks"} <= names


@pytest.mark.parametrize("program", [pytest.param(p, id=p.name) for p in BOUNDARY])
def test_attacks_from_inside_the_program_change_no_verdict(program: Program, tmp_path: Path) -> None:
    """With the static check skipped, the dry run alone still rejects each program for its reason."""
    reasons = dry_run(program.source, resolve_task(program.task), limits=LIMITS, scratch=tmp_path / "scratch")
    errors = [r.message for r in reasons if r.severity == "error"]
    assert any(program.dryrun_text in e for e in errors), errors


@pytest.mark.parametrize(
    ("name", "text"),
    [("huge_expression", "too deeply nested or too large"), ("ansi_exception", "ValueError"),
     ("script_component_name", "is not a Python identifier")],
)  # fmt: skip
def test_check_command_rejects_cleanly(name: str, text: str) -> None:
    """``autoreward check``: one line per reason, exit 1, no traceback, no escape sequence reaches the terminal."""
    path = next(p.path for p in hostile() if p.name == name)
    env = {k: v for k, v in os.environ.items() if k != "AUTOREWARD_MODEL"}
    done = subprocess.run(
        [sys.executable, "-m", "autoreward.cli", "check", str(path), "--task", "cartpole-balance", "--no-llm-review"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    shown = done.stdout + done.stderr
    assert text in shown and "Traceback" not in shown and "\x1b" not in shown and "<script>" not in shown
