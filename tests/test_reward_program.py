"""The reward program's one home: its output contract (used by the Critic, training and the export) and its
guarded parsing."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from autoreward.envs.make import card_state_spec, make_card_env
from autoreward.envs.wrapper import ProgramReward
from autoreward.reward import (
    ContractError,
    RewardProgramError,
    allowlist,
    checked,
    load_reward,
    parse_program,
    to_numbers,
    to_scalar,
    value_problem,
)
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


class _Twin(str):
    """A name that claims to equal, and hashes like, a valid one."""

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return hash("forward")


class _Float(float):
    pass


def _full_rules(out: object) -> tuple[str | None, object]:
    """The contract without ``checked``'s fast path: the outcome (kind, numbers) that path must reproduce."""
    try:
        total, components = to_numbers(out)
    except ContractError as err:
        return err.kind, None
    problem = value_problem(total, components)
    return (problem[0], None) if problem else (None, (total, components))


def _outcome(out: object) -> tuple[str | None, object]:
    try:
        total, components = checked(out)
    except ContractError as err:
        return err.kind, None
    assert type(total) is float and type(components) is dict
    assert all(type(k) is str and type(v) is float for k, v in components.items())
    return None, (total, components)


ADVERSARIAL = [
    (1.0, {"forward": 1.0}),
    (1.5, {"forward": 1.0, "alive": 0.5}),
    (1.0, {"forward": 0.5}),
    (1.0 + 1e-5, {"forward": 1.0}),
    (math.nan, {"forward": math.nan}),
    (math.nan, {"forward": 1.0}),
    (math.inf, {"forward": math.inf}),
    (0.0, {"forward": math.inf, "alive": -math.inf}),
    (math.inf, {"forward": 1e308, "alive": 1e308}),
    (1.0, {"forward": 1e308, "alive": 1e308}),
    (-0.0, {}),
    (math.nan, {}),
    (1.0, {}),
    (1.0, {_Twin("x y"): 1.0}),
    (1.0, {"forward": _Float(1.0)}),
    (_Float(1.0), {"forward": 1.0}),
    (True, {"forward": True}),
    (np.float64(1.0), {"forward": np.float64(1.0)}),
    (1.0, {"forward": np.array(1.0)}),
    (1.0, {"x" * 65: 1.0}),
    (1.0, {"for ward": 1.0}),
    (1.0, {1: 1.0}),
    (1.0, {"forward": 1.0, "ünicode": 0.0}),
    [1.0, {"forward": 1.0}],
    (1.0, {"forward": 1.0}, 0),
    (np.ones(2), {"forward": 1.0}),
    (1.0, [("forward", 1.0)]),
    (1.0, "forward"),
    None,
]


@pytest.mark.parametrize("out", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_the_fast_path_accepts_and_rejects_exactly_what_the_full_rules_do(out: object) -> None:
    """Twice: once before the names are remembered as valid, once after."""
    assert _outcome(out) == _full_rules(out)
    assert _outcome(out) == _full_rules(out)


def test_the_fast_path_agrees_on_random_outputs() -> None:
    rng = random.Random(0)
    specials = [math.nan, math.inf, -math.inf, 1e308, -1e308, 0.0, -0.0, 5e-324]
    names = ["forward", "alive", "control", "bad name", "x" * 70, "_private"]
    for _ in range(3000):
        comps = {
            rng.choice(names): rng.choice(specials) if rng.random() < 0.1 else rng.uniform(-10, 10)
            for _ in range(rng.randint(0, 4))
        }
        whole = sum(v for v in comps.values() if math.isfinite(v)) if comps else rng.uniform(-1, 1)
        total = whole * (1 + rng.choice([0.0, 0.0, 1e-6, 1e-3])) if rng.random() < 0.9 else rng.choice(specials)
        out = (total, comps)
        assert _outcome(out) == _full_rules(out), out


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


# --- The allow-list (autoreward/reward/allowlist.py) --------------------------------------------------------

INTERNALS = (
    "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await", "ag_frame", "ag_code", "f_back",
    "f_globals", "f_locals", "f_builtins", "f_code", "tb_frame", "tb_next", "co_code", "co_consts",
    "with_traceback", "tofile", "dump", "dumps", "ctypes", "format", "format_map", "mro", "base", "data", "flags",
    "setflags", "close", "send", "throw",
)  # fmt: skip


def _reads(expression: str) -> str:
    return (
        f"import numpy as np\n\ndef compute_reward(prev, action, state):\n    x = {expression}\n    return 0.0, {{}}\n"
    )


@pytest.mark.parametrize("name", INTERNALS)
def test_frame_generator_file_and_lookup_attributes_are_never_readable(name: str) -> None:
    """Whatever object holds them: the names are enumerated from the objects a program can reach."""
    assert name in allowlist.shadowed()
    assert allowlist.problems(parse_program(_reads(f"state.{name}")))
    own = f"class Box:\n    def __init__(self):\n        self.{name} = 1.0\n\n" + _reads("Box()")
    assert any("choose another name" in m for _, m in allowlist.problems(parse_program(own)))


@pytest.mark.parametrize(
    "expression",
    ["np.linalg.norm(state.obs) + np.clip(state.obs, -1.0, 1.0).sum()", "state.x_velocity", "state['joint']['hip']",
     "sorted(state.obs.tolist())[0]", "max(abs(v) for v in state.obs)", "np.float32(1.0).item()"],
)  # fmt: skip
def test_arithmetic_on_the_state_is_allowed(expression: str) -> None:
    assert allowlist.problems(parse_program(_reads(expression))) == []


def test_a_checked_program_runs_with_the_listed_builtins_and_modules_only() -> None:
    fn = allowlist.load_checked(_reads("abs(-1.0)"))
    namespace_builtins = fn.__globals__["__builtins__"]
    assert "open" not in namespace_builtins and "getattr" not in namespace_builtins and "abs" in namespace_builtins
    with pytest.raises(ImportError, match="not importable"):
        namespace_builtins["__import__"]("os")
    with pytest.raises(allowlist.ProgramRefused, match="'open' is not allowed"):
        allowlist.load_checked(_reads("open('/tmp/pwned_load_checked', 'w')"))


@pytest.mark.parametrize("total", [10**400, 2**1024 - 1, -(10**309)])
def test_an_integer_beyond_the_float_range_is_a_contract_error(total: int) -> None:
    with pytest.raises(ContractError, match="beyond the float range"):
        checked((total, {"huge": total}))
