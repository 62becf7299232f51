"""The Critic on the corpus: every hostile program rejected for its own reason, every good one accepted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from corpus_programs import Program, good, hostile

from autoreward.critic import critique
from autoreward.critic.judge import Answer, Evidence, judge
from autoreward.critic.static import static_check
from autoreward.sandbox.limits import Limits
from autoreward.tasks import resolve_task

LIMITS = Limits(wall_seconds=20, cpu_seconds=5)
FAST_GOOD = {"cartpole_balance", "hopper_forward"}


def _case(program: Program, fast: bool) -> object:
    return pytest.param(program, id=program.name, marks=() if fast else pytest.mark.slow)


def test_corpus_is_big_enough() -> None:
    assert len(hostile()) >= 30 and len(good()) >= 10
    assert all(p.expect_stage in ("static", "dryrun") and p.expect_text for p in hostile())
    assert len({p.task for p in good()}) >= 5


@pytest.mark.parametrize("program", [_case(p, p.expect_stage == "static") for p in hostile()])
def test_hostile_program_is_rejected_for_its_reason(program: Program, tmp_path: Path) -> None:
    verdict = critique(program.source, resolve_task(program.task), limits=LIMITS, scratch=tmp_path / "scratch")
    assert not verdict.accepted
    messages = [str(r) for r in verdict.errors]
    assert any(r.stage == program.expect_stage and program.expect_text in r.message for r in verdict.errors), messages
    assert verdict.stages_run[-1] == program.expect_stage  # stopped at the first stage with an error
    assert not any(c in r.message for r in verdict.reasons for c in "\x1b\x9b\x07\r")  # shown safely
    assert program.traces() == []


@pytest.mark.parametrize("program", [_case(p, p.name in FAST_GOOD) for p in good()])
def test_good_program_is_accepted(program: Program) -> None:
    verdict = critique(program.source, resolve_task(program.task))
    assert verdict.accepted, [str(r) for r in verdict.reasons]
    assert verdict.stages_run == ["static", "dryrun"]


FIELDS = {"x_velocity": (), "height": (), "joint_angle": ("thigh_joint", "leg_joint")}


def test_static_accepts_a_plain_program_and_names_fields() -> None:
    ok = "import numpy as np\ndef compute_reward(prev, action, state):\n    v = state.x_velocity\n    return v, {'v': v}\n"
    assert static_check(ok, FIELDS) == []
    typo = ok.replace("state.x_velocity", "state.joint_angle['thigh_jiont'] + prev.heigth")
    reasons = static_check(typo, FIELDS)
    assert [r.line for r in reasons] == [3, 3]
    assert "did you mean 'thigh_joint'" in reasons[0].message or "did you mean 'thigh_joint'" in reasons[1].message
    assert any("did you mean 'height'" in r.message for r in reasons)


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("x = np.random.default_rng(0).normal()", "numpy.random: not on the list"),
        ("x = np.lib.format.open_memmap('a')", "numpy.lib: not on the list"),
        ("x = np.save", "numpy.save: not on the list"),
        ("x = state.__dict__", ".__dict__: dunder attributes"),
        ("x = state._snap", "._snap: private attributes are off limits"),
        ("x = np.linalg.norm(state.obs) + np.clip(state.obs, -1, 1).sum()", None),
        ("x = np", "module 'np' used as a value"),
        ("x = np.linalg", "module np.linalg used as a value"),
        ("x = (v for v in [1]).gi_frame", ".gi_frame: not an attribute"),
        ("x = state.obs.tofile", ".tofile: not an attribute"),
        ("x = '{}'.format(state)", ".format: not an attribute"),
        ("x = type(state)", "'type' is not allowed"),
        ("x = getattr(state, 'height')", "'getattr' is not allowed"),
        ("np = state", "'np' is bound by an import and again here"),
        ("x = vars(state)", "'vars' is not allowed"),
        ("x = __builtins__", "name '__builtins__'"),
        ("x = ...  # the skeleton's placeholder, copied back", "line 3 still holds the skeleton's placeholder"),
        ("x = state.obs[..., 0]", None),  # numpy's ellipsis index, not a placeholder
        ("x = 1.0 if state.height > 1 else ...", "placeholder `...`"),
    ],
)
def test_static_rules(snippet: str, expected: str | None) -> None:
    source = (
        f"import numpy as np\ndef compute_reward(prev, action, state):\n    {snippet}\n    return state.height, {{}}\n"
    )
    reasons = static_check(source)
    if expected is None:
        assert reasons == []
    else:
        assert any(expected in r.message and r.line == 3 for r in reasons), [str(r) for r in reasons]


def test_review_stage_runs_only_after_the_others_pass() -> None:
    card = resolve_task("cartpole-balance")
    seen: list[str] = []

    def review(source: str, card_: object) -> list:
        from autoreward.critic.verdict import Reason

        seen.append(source)
        return [Reason(stage="review", severity="error", message="rewards the cart for leaving")]

    good_source = next(p for p in good() if p.name == "cartpole_balance").source
    verdict = critique(good_source, card, review=review)
    assert verdict.stages_run == ["static", "dryrun", "review"] and not verdict.accepted
    bad = critique("def compute_reward(prev, action, state):\n    return open('x')\n", card, review=review)
    assert bad.stages_run == ["static"] and len(seen) == 1


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AUTOREWARD_MODEL"}
    return subprocess.run(
        [sys.executable, "-m", "autoreward.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_check_command_exit_codes(tmp_path: Path) -> None:
    good_file = next(p for p in good() if p.name == "cartpole_balance").path
    accepted = _cli("check", str(good_file), "--task", "cartpole-balance", "--no-llm-review")
    assert accepted.returncode == 0, accepted.stderr
    assert "accepted" in accepted.stderr

    bad_file = next(p for p in hostile() if p.name == "numpy_savetxt").path
    rejected = _cli("check", str(bad_file), "--task", "cartpole-balance")
    assert rejected.returncode == 1
    assert "static: line 7: numpy.savetxt" in rejected.stdout and "Traceback" not in rejected.stderr

    missing = _cli("check", str(tmp_path / "nope.py"), "--task", "cartpole-balance")
    assert missing.returncode == 2 and "no reward file" in missing.stderr
    unknown = _cli("check", str(good_file), "--task", "no-such-task")
    assert unknown.returncode == 2 and "unknown task" in unknown.stderr and "Traceback" not in unknown.stderr


def _timed(gaps_ms: list[float], load_s: float = 0.0) -> list[str]:
    """The dry run's speed errors for answers arriving ``gaps_ms`` apart on the checker's clock, after a load
    of ``load_s`` (constructed evidence: the verdict is a function of the clock's numbers alone)."""
    ev = Evidence(expected=len(gaps_ms), rollouts=["random"] * len(gaps_ms), fitness=np.full(len(gaps_ms), np.nan))
    ev.loading_at, ev.ready_at = -load_s, 0.0
    for i, arrival in enumerate(np.cumsum(gaps_ms) / 1000):
        ev.answers.append(Answer(answer=i, total=float(i % 7), components={"t": float(i % 7)}))
        ev.arrivals.append(float(arrival))
    return [r.message for r in judge(ev) if r.severity == "error"]


def test_cost_is_budgeted_on_the_median_the_mean_and_the_total() -> None:
    assert _timed([0.05] * 300) == []
    assert _timed([0.05] * 290 + [40.0] * 10) == []  # a few stalls (the pipe, the scheduler) are not the program's
    bimodal = _timed([0.05, 0.05, 0.05, 8.0] * 75)  # slow on one call in four: the median is fast
    assert any("ms per call (mean)" in e for e in bimodal), bimodal
    assert any("took" in e and "loading 5.0 s" in e for e in _timed([0.05] * 300, load_s=5.0))  # precomputed
    assert _timed([0.05] * 299 + [900.0]) == []  # a one-off cost within the load's allowance
    assert any("took" in e for e in _timed([0.05] * 299 + [900.0], load_s=1.5))  # a load, then a first call
