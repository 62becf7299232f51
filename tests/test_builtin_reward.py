"""PPO on the env's own reward (``TrainJob.reward_source=None``): the baseline that loads no program."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest

from autoreward.envs.make import card_state_spec, make_card_env
from autoreward.envs.wrapper import BUILTIN_COMPONENT, ProgramReward
from autoreward.tasks import resolve_task
from autoreward.training.job import TrainJob, run_job
from autoreward.training.sandboxed import train_in_sandbox


def test_wrapper_without_a_program_passes_the_env_reward_through() -> None:
    card = resolve_task("pendulum-swingup")
    env = make_card_env(card)
    plain = gym.make(card.env_id)
    wrapped = ProgramReward(env, None, card_state_spec(card, env))
    wrapped.reset(seed=3)
    plain.reset(seed=3)
    for _ in range(5):
        action = plain.action_space.sample()
        _, reward, _, _, info = wrapped.step(action)
        _, expected, _, _, _ = plain.step(action)
        assert reward == pytest.approx(float(expected)) and reward != 0.0
        assert info["reward_components"] == {BUILTIN_COMPONENT: pytest.approx(float(expected))}
        assert info["builtin_reward"] == pytest.approx(float(expected))
    wrapped.close()
    plain.close()


class _NoProgramContext:
    """A job context whose program must never be loaded."""

    def __init__(self, params: dict[str, Any], scratch: Path) -> None:
        self.params = params
        self.scratch = scratch
        self.events: list[dict[str, Any]] = []
        self.locked = False

    def lock_down(self) -> None:
        self.locked = True

    def emit(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    def load_program(self) -> Any:
        raise AssertionError("the built-in reward's training loaded a program")


@pytest.mark.slow
def test_builtin_training_never_loads_a_program_and_records_the_builtin_component(tmp_path: Path) -> None:
    job = TrainJob(task="cartpole-balance", reward_source=None, timesteps=3000, checkpoints=3, eval_episodes=3,
                   plots=False, save_model=False)  # fmt: skip
    ctx = _NoProgramContext(job.model_dump(mode="json"), tmp_path)
    result = run_job(ctx)
    assert result["status"] == "ok", result.get("traceback")
    assert result["evaluation"]["episodes"] == 3 and result["evaluation"]["fitness_mean"] > 0
    # CartPole pays 1 a step: the built-in return and the reward return are the episode length.
    evaluation = result["evaluation"]
    assert evaluation["reward_return_mean"] == pytest.approx(evaluation["builtin_return_mean"])
    assert all(set(c["components"]) == {BUILTIN_COMPONENT} for c in result["checkpoints"])
    assert [e["event"] for e in ctx.events][-1] == "finished"
    assert ctx.locked, "the job locks itself down (seccomp) even without a program"


@pytest.mark.slow
def test_builtin_training_runs_in_the_sandbox(tmp_path: Path) -> None:
    job = TrainJob(task="cartpole-balance", reward_source=None, timesteps=2000, checkpoints=2, eval_episodes=2,
                   plots=False, save_model=False)  # fmt: skip
    result = train_in_sandbox(job, tmp_path)
    assert result.status == "ok", result.error
    assert result.evaluation is not None and result.evaluation.fitness_mean > 0
    assert set(result.checkpoints[-1].components) == {BUILTIN_COMPONENT}
