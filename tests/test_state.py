"""The State builder against the simulator itself: every field must equal what MuJoCo or the env reports."""

from __future__ import annotations

import math
from pathlib import Path

import mujoco
import numpy as np
import pytest
from suite_marks import task_params

from autoreward.envs.fitness import EpisodeFitness
from autoreward.envs.make import card_state_spec, make_card_env, state_spec
from autoreward.envs.state import State
from autoreward.tasks import catalog, load_card

# The optional suites (envs/suites.py) have their own simulator checks in test_suites.py.
SUITE_FAMILIES = ("metaworld", "fetch", "minigrid", "crafter", "maniskill")
MUJOCO_TASKS = [name for name, card in catalog().items() if card.family not in ("classic", *SUITE_FAMILIES)]
CLASSIC_TASKS = [name for name, card in catalog().items() if card.family == "classic"]
ASSETS = Path(__file__).parent / "assets"


def _rollout(env, steps: int, seed: int = 0):
    """Yield (env, state) after each of ``steps`` random steps, resetting at episode ends."""
    spec = state_spec(env)
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    for _ in range(steps):
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        yield spec.snapshot(obs)
        if terminated or truncated:
            obs, _ = env.reset()


def _check_against_mujoco(env, state: State) -> None:
    model, data = env.unwrapped.model, env.unwrapped.data
    np.testing.assert_array_equal(state.obs, np.asarray(env.unwrapped._get_obs(), dtype=np.float64))
    for name in state.joint_angle:
        joint = model.joint(name)
        assert state.joint_angle[name] == data.qpos[joint.qposadr[0]]
        assert state.joint_velocity[name] == data.qvel[joint.dofadr[0]]
    velocity = np.zeros(6)
    for name in state.body_pos:
        b = list(state.body_pos).index(name) + 1
        np.testing.assert_array_equal(state.body_pos[name], data.xpos[b])
        mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_XBODY, b, velocity, 0)
        np.testing.assert_allclose(state.body_velocity[name], velocity[3:], atol=1e-9)
    touching = set()
    for c in data.contact[: data.ncon]:
        b1, b2 = model.geom_bodyid[c.geom1], model.geom_bodyid[c.geom2]
        if b1 != b2:
            touching |= {int(b1), int(b2)}
    for i, name in enumerate(state.contact, start=1):
        assert state.contact[name] == float(i in touching), name
    if "x_position" in dir(state):
        np.testing.assert_allclose([state.x_position, state.y_position, state.height], data.xpos[1], atol=0, rtol=0)
        mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_XBODY, 1, velocity, 0)
        np.testing.assert_allclose([state.x_velocity, state.y_velocity, state.z_velocity], velocity[3:], atol=1e-9)
        np.testing.assert_allclose(state.angular_velocity, velocity[:3], atol=1e-9)
        assert state.upright == pytest.approx(data.xmat[1][8])
        np.testing.assert_array_equal(state.com_position, data.subtree_com[1])


@pytest.mark.parametrize("task", MUJOCO_TASKS)
def test_mujoco_state_matches_simulator(task: str) -> None:
    env = make_card_env(catalog()[task])
    try:
        for t, state in enumerate(_rollout(env, 60)):
            if t % 10 == 0:
                _check_against_mujoco(env, state)
    finally:
        env.close()


@pytest.mark.parametrize("task", CLASSIC_TASKS)
def test_classic_state_matches_documented_layout(task: str) -> None:
    env = make_card_env(catalog()[task])
    layout_fields = [f for f in state_spec(env).fields if f != "obs"]
    assert layout_fields, "classic envs get named fields from their documented layout"
    for state in _rollout(env, 30):
        raw = env.unwrapped.state
        if task == "cartpole-balance":
            assert [
                state.cart_position,
                state.cart_velocity,
                state.pole_angle,
                state.pole_angular_velocity,
            ] == (pytest.approx(list(raw)))
        elif task == "pendulum-swingup":
            theta = math.atan2(math.sin(raw[0]), math.cos(raw[0]))
            assert state.angle == pytest.approx(theta, abs=1e-6)
            assert state.angular_velocity == pytest.approx(raw[1], abs=1e-6)
        elif task == "mountaincar-reach":
            assert [state.position, state.velocity] == pytest.approx(list(raw))
        elif task == "acrobot-swingup":
            tip = -math.cos(raw[0]) - math.cos(raw[0] + raw[1])
            assert state.tip_height == pytest.approx(tip, abs=1e-5)
    env.close()


@pytest.mark.parametrize("task", task_params(list(catalog())))
def test_fitness_computes_on_a_real_rollout(task: str) -> None:
    card = catalog()[task]
    env = make_card_env(card)
    spec = card_state_spec(card, env)
    fitness = EpisodeFitness(card.require_fitness())
    obs, info = env.reset(seed=1)
    prev = first = spec.snapshot(obs)
    fitness.reset(prev, info)
    done = False
    steps = 0
    while not done and steps < 200:
        action = env.action_space.sample()
        obs, reward, terminated, truncated, info = env.step(action)
        state = spec.snapshot(obs)
        fitness.step(prev, action, state, reward, info)
        prev, done, steps = state, terminated or truncated, steps + 1
    value = fitness.result()
    assert math.isfinite(value)
    if card.fitness == "forward_distance":
        assert value == pytest.approx(prev.x_position - first.x_position)
    if card.fitness == "episode_length":
        assert value == steps
    env.close()


def test_state_is_read_only_and_explains_typos() -> None:
    env = make_card_env(catalog()["hopper-forward"])
    spec = state_spec(env)
    obs, _ = env.reset(seed=0)
    state = spec.snapshot(obs)
    with pytest.raises(AttributeError, match="read-only"):
        state.x_velocity = 3.0
    with pytest.raises(ValueError):
        state.obs[0] = 1.0
    with pytest.raises(ValueError):
        state.body_pos["torso"][0] = 1.0
    with pytest.raises(AttributeError, match="did you mean 'x_velocity'"):
        _ = state.x_velocty
    with pytest.raises(KeyError, match="did you mean 'thigh_joint'"):
        _ = state.joint_angle["thigh"]
    # A snapshot keeps its values after the env moves on.
    before = state.joint_angle["thigh_joint"]
    env.step(env.action_space.sample())
    assert state.joint_angle["thigh_joint"] == before
    env.close()


def test_unnamed_mujoco_parts_get_readable_names() -> None:
    env = make_card_env(catalog()["ant-forward"])
    state = state_spec(env).snapshot(env.reset(seed=0)[0])
    assert "left_ankle" in state.body_pos  # Ant's foot bodies have no name; their geoms do
    assert "body_4" not in state.body_pos
    env.close()


def test_custom_xml_env_gets_a_state(tmp_path: Path) -> None:
    card_path = tmp_path / "arm.toml"
    card_path.write_text(
        'name = "arm-swing"\nenv_id = "CustomArm-v0"\nintent = "Swing the hand up."\n'
        f'module = "{ASSETS / "custom_arm.py"}"\n'
        'fitness = { expr = "state.site_pos[\'tip\'][2]", reduce = "max" }\n'
    )
    card = load_card(card_path)
    env = make_card_env(card)
    spec = card_state_spec(card, env)
    state = spec.snapshot(env.reset(seed=0)[0])
    assert list(state.joint_angle) == ["slider", "shoulder", "elbow"]
    assert list(state.body_pos) == ["cart", "upper_arm", "hand"]
    assert "tip" in state.site_pos
    assert state.x_position == pytest.approx(env.unwrapped.data.xpos[1][0])
    for state in _rollout(env, 20):
        _check_against_mujoco(env, state)
    env.close()


@pytest.mark.parametrize("task", task_params(list(catalog())))
def test_item_access_means_attribute_access_on_every_state(task: str) -> None:
    """``state["name"]`` and ``state["field"]["key"]`` read the same values as attributes, on every suite's State;
    an unknown name still explains itself."""
    card = catalog()[task]
    env = make_card_env(card)
    spec = card_state_spec(card, env)
    obs, _ = env.reset(seed=0)
    obs, *_ = env.step(env.action_space.sample())
    state = spec.snapshot(obs)
    for name, field in spec.fields.items():
        if not field.keys:
            np.testing.assert_array_equal(state[name], getattr(state, name))
        for key in field.keys:
            np.testing.assert_array_equal(state[name][key], getattr(state, name)[key])
    first = next(iter(spec.fields))
    with pytest.raises(KeyError, match=f"did you mean '{first}'"):
        _ = state[first + "x"]
    with pytest.raises(TypeError, match=r"state\.obs\[i\]"):
        _ = state[0]
    env.close()
