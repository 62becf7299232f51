"""The reward program's one home: its output contract (used by the Critic, training and the export) and its
guarded parsing."""

from __future__ import annotations

import numpy as np
import pytest

from autoreward.envs.make import card_state_spec, make_card_env
from autoreward.envs.wrapper import ProgramReward
from autoreward.reward import ContractError, RewardProgramError, checked, load_reward, parse_program, to_scalar
from autoreward.tasks import resolve_task
from autoreward.training.stats import WindowRecorder
from autoreward.training.tracking import tracked_env


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, 1.0), (True, 1.0), (np.float32(0.5), 0.5), (np.int64(3), 3.0), (np.array(2.5), 2.5), (np.bool_(False), 0.0)],
)
def test_real_scalars_of_any_type_are_converted(value: object, expected: float) -> None:
    assert to_scalar(value) == expected and type(to_scalar(value)) is float


@pytest.mark.parametrize("value", [1j, np.complex64(1), np.array([1.0]), np.ones(3), "1.0", None, [1.0]])
def test_complex_arrays_and_text_are_not_scalars(value: object) -> None:
    assert to_scalar(value) is None


@pytest.mark.parametrize(
    ("out", "kind"),
    [
        ((1.0, {"a": 1.0}), None),
        ((np.float32(1.5), {"a": np.array(0.5), "b": True}), None),
        ((float("nan"), {}), "nonfinite"),
        ((1.0, {"a": float("inf")}), "nonfinite"),
        ((1.0, {"a": 0.5}), "sum"),
        ((1.0, {"<script>": 1.0}), "name"),
        ((1.0, {"a b": 1.0}), "name"),
        ((1.0, {"x" * 65: 1.0}), "name"),
        ((np.ones(2), {}), "total"),
        ((1.0, [1.0]), "components"),
        ((1.0, {"a": np.ones(2)}), "component"),
        (1.0, "shape"),
    ],
)
def test_contract(out: object, kind: str | None) -> None:
    if kind is None:
        total, comps = checked(out)
        assert isinstance(total, float) and all(type(v) is float for v in comps.values())
        return
    with pytest.raises(ContractError) as err:
        checked(out)
    assert err.value.kind == kind


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ("x = " + "+".join(["1"] * 90_000), "too"),
        ("x = " + "-" * 100_000 + "1", "too"),
        ("x = " + "[" * 150 + "]" * 150, "levels deep"),
        ("x = 1\n" * 40_000, "over the limit"),
        ("x = 1\x00", "parse"),
        ("def f(:\n", "does not parse"),
    ],
)
def test_parsing_is_guarded(source: str, text: str) -> None:
    with pytest.raises(RewardProgramError) as err:
        parse_program(source)
    assert text in str(err.value)


def test_training_applies_the_same_contract_components_must_sum() -> None:
    """Training's tracking checks the sum as the Critic does (it used not to)."""
    source = "def compute_reward(prev, action, state):\n    return 1.0, {'a': 0.25}\n"
    card = resolve_task("cartpole-balance")
    env = make_card_env(card)
    tracked = tracked_env(ProgramReward(env, load_reward(source), card_state_spec(card, env)), None, WindowRecorder())
    tracked.reset(seed=0)
    with pytest.raises(RewardProgramError, match=r"components sum to 0\.25 but the total is 1"):
        tracked.step(tracked.action_space.sample())
    env.close()


def test_training_converts_numpy_and_bool_scalars() -> None:
    source = (
        "import numpy as np\ndef compute_reward(prev, action, state):\n"
        "    up = np.float32(1.0)\n    return up, {'up': up, 'flag': False}\n"
    )
    card = resolve_task("cartpole-balance")
    env = make_card_env(card)
    tracked = tracked_env(ProgramReward(env, load_reward(source), card_state_spec(card, env)), None, WindowRecorder())
    tracked.reset(seed=0)
    _, reward, *_ = tracked.step(tracked.action_space.sample())
    assert type(reward) is float and reward == 1.0
    env.close()
