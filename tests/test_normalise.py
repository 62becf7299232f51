"""Programs that differ only trivially share a key, so the loop trains them once; different rewards never do."""

from __future__ import annotations

from pathlib import Path

from llm_server import ScriptedLLMServer, answer

from autoreward.config import LLMSettings
from autoreward.loop import Loop
from autoreward.normalise import normalised, program_key
from autoreward.observer import LoopObserver
from autoreward.parts import default_parts
from autoreward.runconfig import RunConfig
from autoreward.runs import create_run
from autoreward.store import RunStore
from autoreward.tasks import resolve_task

BASE = """import numpy as np


def compute_reward(prev, action, state):
    closer = prev.distance["goal"] - state.distance["goal"]
    components = {"progress": 1.0 * closer, "time": -0.01}
    return float(sum(components.values())), components
"""

TRIVIAL = '''import numpy as np
def compute_reward(p, a, s):
    """Approach the goal."""
    # a comment, other names, other spacing, constant arithmetic
    d = (p.distance['goal']
         - s.distance['goal'])
    parts = {'approach': 0.5 * 2 * d, 'step_cost': -(0.01)}
    return float(sum(parts.values())), parts
'''


def test_trivial_differences_share_a_key() -> None:
    assert program_key(BASE) == program_key(TRIVIAL)
    assert normalised(BASE) == normalised(TRIVIAL)


def test_different_rewards_have_different_keys() -> None:
    variants = [
        BASE.replace('distance["goal"] - state.distance["goal"]', 'distance["door"] - state.distance["door"]'),
        BASE.replace("1.0 * closer", "2.0 * closer"),
        BASE.replace("1.0 * closer", "-1.0 * closer"),
        BASE.replace('"time": -0.01', '"time": -0.02'),
        BASE.replace("prev.distance", "state.distance", 1),
    ]
    keys = {program_key(v) for v in variants} | {program_key(BASE)}
    assert len(keys) == len(variants) + 1


def test_unparsable_text_matches_nothing_and_huge_powers_are_not_computed() -> None:
    assert program_key("def compute_reward(:") is None
    folded = normalised("def compute_reward(prev, action, state):\n    return 9 ** 9 ** 9 ** 9, {}\n")
    assert folded is not None and "9 **" in folded  # left as written: evaluating it would hang the CLI


def _loop(store: RunStore, run_id: str) -> Loop:
    card = resolve_task("minigrid-doorkey-5x5")
    config = RunConfig.model_validate(store.run(run_id).config)
    return Loop(store, run_id, card, default_parts(config, card), LoopObserver())


def test_the_loop_records_a_duplicate_and_does_not_train_it(tmp_path: Path) -> None:
    card = resolve_task("minigrid-doorkey-5x5")
    other = BASE.replace("1.0 * closer", "3.0 * closer")
    with ScriptedLLMServer([answer(BASE, TRIVIAL, other)]) as server:
        settings = LLMSettings(model="openai/test-model", api_base=server.base_url, samples=3, resample=0)
        config = RunConfig(task=card.name, iterations=1, llm_review=False, video=False, llm=settings)
        store = RunStore(tmp_path / "runs")
        run_id = create_run(store, card, config, "dedup")
        loop = _loop(store, run_id)
        description = loop._description()
        loop._design(0, description)
        loop._critique(0, description)
    rows = store.candidates(run_id, 0)
    assert [r.status for r in rows] == ["accepted", "duplicate", "accepted"]
    (reason,) = rows[1].failure_reasons()
    assert "the same program as iteration 1, candidate 1" in reason and "write a different one" in reason
    assert [r.id for r in rows if r.status == "accepted"] == [rows[0].id, rows[2].id]  # what _train trains
