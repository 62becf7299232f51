"""A State narrowed to the fields a program and the fitness name: it copies only what they need, gives the same
values as the full State, and a field read by a computed name fails loudly, in the dry run as in training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from suite_marks import task_params

from autoreward.critic.dryrun import dry_run
from autoreward.envs.fitness import EpisodeFitness
from autoreward.envs.make import card_state_spec, make_card_env
from autoreward.envs.state import FieldNotCaptured, field_values
from autoreward.reward import RewardProgramError, load_reward, names_read
from autoreward.sandbox.limits import Limits
from autoreward.tasks import resolve_task
from autoreward.training.stats import WindowRecorder
from autoreward.training.trainer import make_training_env

COMPUTED = """\
def compute_reward(prev, action, state):
    name = "x_" + "velocity"
    forward = getattr(state, name, 0.0)
    return forward, {"forward": forward}
"""


def test_names_read_sees_every_way_a_program_names_a_field() -> None:
    source = """\
def speed(s):
    return s.x_velocity


def compute_reward(prev, action, state):
    h = state["height"] + getattr(state, "upright") + prev.joint_angle["thigh_joint"]
    return speed(state) + h, {"total": speed(state) + h}
"""
    names = names_read(source)
    assert {"x_velocity", "height", "upright", "joint_angle", "thigh_joint"} <= names
    assert "y_velocity" not in names


def test_a_narrowed_spec_copies_only_what_its_fields_need() -> None:
    card = resolve_task("hopper-forward")  # fitness: forward distance, read from x_position
    env = make_card_env(card)
    try:
        source = "def compute_reward(prev, action, state):\n    return state.x_velocity, {'v': state.x_velocity}\n"
        spec = card_state_spec(card, env, names_read(source))
        assert set(spec.fields) == {"obs", "x_velocity", "x_position"}
        assert set(spec.parts) == {"root_xpos", "root_cvel", "root_com"}
        assert {"body_pos", "contact", "joint_angle"} <= spec.omitted
        full = card_state_spec(card, env)
        assert {"xpos", "cvel", "subtree_com", "qpos", "qvel", "contact_geoms"} <= set(full.parts)
        obs, info = env.reset(seed=0)
        fitness = EpisodeFitness(card.require_fitness())
        state = spec.snapshot(obs)
        fitness.reset(state, info)
        for _ in range(20):
            obs, reward, _, _, info = env.step(env.action_space.sample())
            prev, state = state, spec.snapshot(obs)
            fitness.step(prev, None, state, float(reward), info)
            assert state.x_velocity == full.snapshot(obs).x_velocity
        assert fitness.result() != 0.0
    finally:
        env.close()


@pytest.mark.parametrize(
    "task", task_params(["hopper-forward", "ant-forward", "reacher-reach", "cartpole-balance", "metaworld-reach",
                         "fetch-reach", "minigrid-doorkey-5x5", "crafter-collect-wood"])
)  # fmt: skip
def test_each_field_alone_reads_what_the_full_state_reads(task: str) -> None:
    """Narrowed to any one field, the State gives exactly the full State's value: every field declares the
    snapshot parts it needs."""
    card = resolve_task(task)
    env = make_card_env(card)
    try:
        full = card_state_spec(card, env)
        alone = {name: full.narrowed([name]) for name in full.fields}
        env.action_space.seed(0)
        obs, _ = env.reset(seed=0)
        for _ in range(8):
            obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
            expected = field_values(full.snapshot(obs))
            for name, spec in alone.items():
                got = field_values(spec.snapshot(obs))
                assert set(got) == {k for k in expected if k == name or k.startswith(f"{name}[")}, name
                for key, value in got.items():
                    np.testing.assert_array_equal(value, expected[key], err_msg=key)
            if terminated or truncated:
                obs, _ = env.reset()
    finally:
        env.close()


def test_a_computed_field_name_fails_with_a_clear_error_never_a_default() -> None:
    card = resolve_task("hopper-forward")
    env = make_card_env(card)
    try:
        spec = card_state_spec(card, env, names_read(COMPUTED))
        state = spec.snapshot(env.reset(seed=0)[0])
        with pytest.raises(FieldNotCaptured, match=r"'x_velocity' was not captured: read it as state\.x_velocity"):
            getattr(state, "x_" + "velocity", 0.0)
        with pytest.raises(FieldNotCaptured):
            state["x_" + "velocity"]
        with pytest.raises(AttributeError, match="has no field 'x_velocty'; did you mean 'x_velocity'"):
            state.x_velocty  # noqa: B018 - a typo is still an AttributeError naming the close fields
        assert "x_velocity" in dir(state)  # walking dir() reaches the left-out fields and fails loudly
    finally:
        env.close()


def test_training_with_a_computed_field_name_stops_with_the_error() -> None:
    card = resolve_task("hopper-forward")
    venv = make_training_env(card, load_reward(COMPUTED), 1, 0, WindowRecorder(), False,
                             program_names=names_read(COMPUTED))  # fmt: skip
    venv.reset()
    with pytest.raises(FieldNotCaptured, match=r"read it as state\.x_velocity"):
        venv.step(np.zeros((1, 3), dtype=np.float32))
    venv.close()


def test_the_dry_run_rejects_a_computed_field_name_before_training(tmp_path: Path) -> None:
    card = resolve_task("hopper-forward")
    limits = Limits(wall_seconds=30, cpu_seconds=10)
    reasons = dry_run(COMPUTED, card, limits=limits, scratch=tmp_path / "computed")
    errors = [r.message for r in reasons if r.severity == "error"]
    assert any("FieldNotCaptured" in e and "read it as state.x_velocity" in e for e in errors), errors
    named = COMPUTED.replace("getattr(state, name, 0.0)", "state.x_velocity")
    assert [r for r in dry_run(named, card, limits=limits, scratch=tmp_path / "named") if r.severity == "error"] == []


def test_a_program_that_does_not_parse_is_not_narrowed_but_rejected() -> None:
    with pytest.raises(RewardProgramError):
        names_read("def compute_reward(:\n")
