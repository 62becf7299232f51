"""A candidate's failure never ends the run: an unexpected error in one candidate's check or training (a bug
that a program we have not seen triggers, injected here into the real parts) becomes that candidate's failure,
with a one-line reason, and the loop goes on with the others; a missing sandbox still ends the run at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from llm_server import ScriptedLLMServer, answer

from autoreward.config import LLMSettings
from autoreward.loop import Loop
from autoreward.observer import LoopObserver
from autoreward.parts import default_parts
from autoreward.runconfig import RunConfig
from autoreward.runs import create_run
from autoreward.sandbox import isolation
from autoreward.sandbox.isolation import SandboxUnavailable
from autoreward.store import RunStore, Status
from autoreward.tasks import resolve_task

PROGRAM = """import numpy as np


def compute_reward(prev, action, state):
    components = {{"upright": {weight} - 4.0 * abs(state.pole_angle)}}
    return float(sum(components.values())), components
"""
CHECK_BREAKS, TRAINING_BREAKS, HONEST = (PROGRAM.format(weight=w) for w in ("1.0", "2.0", "3.0"))


class Unforeseen(RuntimeError):
    """Stands for a bug in the parent that some program triggers."""


def _run(tmp_path: Path, breaking: type[Exception], asked: list | None = None) -> tuple[RunStore, str, Loop]:
    """The loop over three programs, with the real parts made to break on the first two; ``asked`` receives the
    LLM requests made."""
    asked = [] if asked is None else asked
    card = resolve_task("cartpole-balance")
    store = RunStore(tmp_path / "runs")
    with ScriptedLLMServer([answer(CHECK_BREAKS, TRAINING_BREAKS, HONEST)]) as server:
        settings = LLMSettings(model="openai/test-model", api_base=server.base_url, samples=3, resample=0)
        config = RunConfig(
            task=card.name, iterations=1, llm_review=False, video=False, llm=settings, timesteps=2048,
            eval_episodes=2, prune=False, workers=1,
        )  # fmt: skip
        run_id = create_run(store, card, config, "isolated")
        parts = default_parts(config, card)
        critic, train_one = parts.critic, parts.train_one

        def check(source, card, scratch, review):  # type: ignore[no-untyped-def]
            if source == CHECK_BREAKS:
                raise breaking("the check broke\non two lines")
            return critic(source, card, scratch, review)

        def train(job, scratch, on_event=None):  # type: ignore[no-untyped-def]
            if job.reward_source == TRAINING_BREAKS:
                raise breaking("training broke")
            return train_one(job, scratch, on_event)

        parts.critic, parts.train_one = check, train
        loop = Loop(store, run_id, card, parts, LoopObserver())
        try:
            loop.run()
        finally:
            asked.extend(server.requests)
    return store, run_id, loop


@pytest.mark.slow
def test_one_candidates_unexpected_error_is_its_own_failure(tmp_path: Path) -> None:
    store, run_id, _ = _run(tmp_path, Unforeseen)
    rows = {store.source(r.id): r for r in store.candidates(run_id, 0)}
    broken_check, broken_training, honest = rows[CHECK_BREAKS], rows[TRAINING_BREAKS], rows[HONEST]
    assert broken_check.status == Status.REJECTED
    (reason,) = broken_check.failure_reasons()
    assert "Unforeseen: the check broke" in reason and "two lines" not in reason
    assert broken_training.status == Status.FAILED
    assert "Unforeseen: training broke" in broken_training.failure_reasons()[0]
    assert honest.status == Status.TRAINED and honest.fitness is not None
    assert store.run(run_id).best_candidate == honest.id


def test_a_missing_sandbox_still_ends_the_run(tmp_path: Path) -> None:
    with pytest.raises(SandboxUnavailable):
        _run(tmp_path, SandboxUnavailable)


def test_without_bubblewrap_a_run_stops_before_any_llm_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(isolation, "_works", lambda mode: mode == isolation.UNSAFE)
    monkeypatch.delenv("AUTOREWARD_SANDBOX", raising=False)
    asked: list = []
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        _run(tmp_path, Unforeseen, asked)
    assert asked == []
