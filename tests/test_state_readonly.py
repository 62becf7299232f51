"""No array a reward program reads from a State (or the action it is given) can be made writable again: not the
field values, not their entries, not their ``.base`` chains. A program that could would forge what the fitness in
its own process reads, or write into the simulator's memory. (The snapshot behind the fields is private: the
static check rejects private attributes, and true fitness is measured without the program anyway.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from autoreward.envs.make import card_state_spec, make_card_env
from autoreward.envs.state import NamedValues, State, is_sealed, sealed
from autoreward.envs.wrapper import ProgramReward
from autoreward.tasks import resolve_task

TASKS = ["hopper-forward", "ant-forward", "cartpole-balance", "pendulum-swingup", "reacher-reach"]
SUITE_TASKS = {"minigrid-doorkey-5x5": "minigrid", "crafter-collect-wood": "crafter", "metaworld-reach": "metaworld"}


def _arrays(value: Any, seen: set[int]) -> Iterator[np.ndarray]:
    """Every ndarray reachable from ``value`` through containers, NamedValues and ``.base`` chains."""
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        yield value
        if value.base is not None:
            yield from _arrays(value.base, seen)
    elif isinstance(value, NamedValues):
        yield from _arrays(value._array, seen)
        for key in value:
            yield from _arrays(value[key], seen)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _arrays(item, seen)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _arrays(item, seen)


def _reachable(state: State) -> list[np.ndarray]:
    seen: set[int] = set()
    out = []
    for name in dir(state):
        out += list(_arrays(getattr(state, name), seen))
    out += list(_arrays(state._cache, seen))  # the cache holds exactly what the fields gave out
    return out


def _rewritable(array: np.ndarray) -> bool:
    try:
        array.setflags(write=True)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("task", [*TASKS, *SUITE_TASKS])
def test_no_array_reachable_from_a_state_can_be_made_writable(task: str) -> None:
    if task in SUITE_TASKS:
        pytest.importorskip(SUITE_TASKS[task])
    card = resolve_task(task)
    env = make_card_env(card)
    seen_actions: list[np.ndarray] = []
    states: list[State] = []

    def program(prev: State, action: np.ndarray, state: State) -> tuple[float, dict[str, float]]:
        seen_actions.append(action)
        states.append(state)
        return 0.0, {}

    wrapped = ProgramReward(env, program, card_state_spec(card, env))
    wrapped.reset(seed=0)
    for _ in range(5):
        wrapped.step(wrapped.action_space.sample())
    wrapped.close()
    arrays = [a for state in states for a in _reachable(state)]
    assert len(arrays) > 5
    rewritable = [a for a in arrays if _rewritable(a)]
    assert rewritable == [], f"{len(rewritable)} arrays of {task}'s State can be made writable again"
    assert not any(_rewritable(a) for a in seen_actions) and all(not a.flags.writeable for a in seen_actions)


def test_sealed_copies_and_cannot_be_unsealed() -> None:
    original = np.arange(6.0).reshape(2, 3)
    frozen = sealed(original)
    original[0, 0] = 99.0
    assert frozen[0, 0] == 0.0, "a copy, not a view into the caller's memory"
    assert is_sealed(frozen) and is_sealed(frozen[1:]) and sealed(frozen) is frozen
    for array in (frozen, frozen.base, frozen[:, 1]):
        with pytest.raises(ValueError):
            array.setflags(write=True)
    # What the old freezing did: flags only, undone in one call.
    flagged = np.arange(3.0)
    flagged.flags.writeable = False
    flagged.setflags(write=True)
    assert flagged.flags.writeable
