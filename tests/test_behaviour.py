"""Programs that pay the same on the dry run's States share a fingerprint, so the loop trains them once."""

from __future__ import annotations

from pathlib import Path

from llm_server import ScriptedLLMServer, answer

from autoreward.config import LLMSettings
from autoreward.critic import critique
from autoreward.feedback import rejection_lines
from autoreward.loop import Loop
from autoreward.normalise import program_key
from autoreward.observer import LoopObserver
from autoreward.parts import default_parts
from autoreward.runconfig import RunConfig
from autoreward.runs import create_run
from autoreward.sandbox.limits import Limits
from autoreward.store import RunStore
from autoreward.tasks import resolve_task

TASK = "minigrid-doorkey-5x5"
LIMITS = Limits(wall_seconds=30, cpu_seconds=20)

BASE = """import numpy as np


def compute_reward(prev, action, state):
    closer = prev.distance["goal"] - state.distance["goal"]
    components = {"progress": 1.0 * closer, "time": -0.01}
    return float(sum(components.values())), components
"""

# written differently (algebra, a clip that never binds on one grid step, another component order and names):
# the same number on every State
SAME = """import numpy as np


def compute_reward(prev, action, state):
    step = -(state.distance["goal"] - prev.distance["goal"])
    paid = {"cost": -0.01, "approach": float(np.clip(step, -5.0, 5.0))}
    return paid["approach"] + paid["cost"], paid
"""

OTHER = BASE.replace("1.0 * closer", "2.0 * closer")


def test_same_behaviour_shares_a_fingerprint_and_other_behaviour_does_not(tmp_path: Path) -> None:
    card = resolve_task(TASK)
    assert program_key(BASE) != program_key(SAME)  # the syntax tree alone cannot tell
    verdicts = [
        critique(source, card, limits=LIMITS, scratch=tmp_path / str(i)) for i, source in enumerate([BASE, SAME, OTHER])
    ]
    assert all(v.accepted for v in verdicts), [[str(r) for r in v.reasons] for v in verdicts]
    base, same, other = (v.behaviour for v in verdicts)
    assert base is not None and base == same
    assert other is not None and other != base


def test_a_failing_program_has_no_fingerprint(tmp_path: Path) -> None:
    failing = BASE.replace("closer = ", "closer = 1 / 0 + ")
    verdict = critique(failing, resolve_task(TASK), limits=LIMITS, scratch=tmp_path / "s")
    assert not verdict.accepted and verdict.behaviour is None


def test_the_loop_records_a_behaviour_duplicate_and_does_not_train_it(tmp_path: Path) -> None:
    card = resolve_task(TASK)
    with ScriptedLLMServer([answer(BASE, SAME, OTHER)]) as server:
        settings = LLMSettings(model="openai/test-model", api_base=server.base_url, samples=3, resample=0)
        config = RunConfig(task=card.name, iterations=1, llm_review=False, video=False, llm=settings)
        store = RunStore(tmp_path / "runs")
        run_id = create_run(store, card, config, "behaviour")
        loop = Loop(store, run_id, card, default_parts(config, card), LoopObserver())
        description = loop._description()
        loop._design(0, description)
        loop._critique(0, description)
    rows = store.candidates(run_id, 0)
    assert [r.status for r in rows] == ["accepted", "duplicate", "accepted"]
    reason = rows[1].verdict_line()
    assert "the same rewards on every dry-run state as iteration 1, candidate 1" in reason
    assert "write a different one" in reason
    # the re-sampling prompt counts the repeats in one line and does not list the originals to copy
    assert rejection_lines(rows) == ["1 answer repeated an earlier program or its rewards: write one unlike them"]
