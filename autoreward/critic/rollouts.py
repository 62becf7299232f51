"""The dry run's states: real rollouts of the task's env, made by a job that never loads the program.

``run_job`` (job kind ``"dryrun-rollout"``) steps the env through random, extreme-action and (MuJoCo) perturbed
rollouts, plus a solving path where the env's suite can search for one (``demonstration``), records every State
as plain arrays (``encode``) with the task fitness's per-step increments, and writes them to ``rollouts.npz``.
The program's own job rebuilds States from those arrays (``decode``): the program reads the same fields and
values it would read in training, and nothing it does reaches the rollouts.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from autoreward.envs.fitness import EpisodeFitness
from autoreward.envs.state import Field, NamedValues, State, StateSpec
from autoreward.envs.suites import demonstrator

if TYPE_CHECKING:
    import gymnasium as gym

    from autoreward.sandbox.jobs import JobContext

ROLLOUTS_FILE = "rollouts.npz"
MAX_FILE_BYTES = 256 << 20
CLOCK_FIELDS = frozenset({"step_count", "time"})  # change on every step, standing still or not
GOAL_STAGE = "the goal (success)"  # how the name of a solving path's last stage ends
DEMONSTRATIONS = 3  # solving paths, each in its own layout: a wrong target shows in some layouts only
STILL = "demonstration, standing still"
DEMONSTRATION_SEED = 100  # their episodes' first seed: layouts the random rollouts did not start from


@dataclass
class Transition:
    prev: State
    action: np.ndarray
    state: State
    rollout: str
    builtin: float
    info: dict[str, Any]
    stage: int = -1  # the demonstration's stage it belongs to; -1 outside a demonstration


def rollouts(env: gym.Env, spec: StateSpec, steps: int, seed: int) -> Iterator[Transition]:
    """Random actions, extreme actions, and (MuJoCo) randomly perturbed start states: diverse real states."""
    kinds = ["random", "extreme"] + (["perturbed"] if hasattr(env.unwrapped, "set_state") else [])
    per_kind = max(1, steps // len(kinds))
    rng = np.random.default_rng(seed)
    env.action_space.seed(seed)
    for k, kind in enumerate(kinds):
        obs, _ = env.reset(seed=seed + k)
        if kind == "perturbed":
            obs = _perturb(env, rng)
        state = spec.snapshot(obs)
        for i in range(per_kind):
            action = _action(env.action_space, kind, i)
            obs, builtin, terminated, truncated, info = env.step(action)
            prev, state = state, spec.snapshot(obs)
            yield Transition(prev, np.asarray(action), state, kind, float(builtin), info)
            if terminated or truncated:
                obs, _ = env.reset()
                if kind == "perturbed":
                    obs = _perturb(env, rng)
                state = spec.snapshot(obs)


def demonstration(env: gym.Env, spec: StateSpec, seed: int) -> tuple[list[Transition], list[str]]:
    """A solving path from a fresh episode, found by the env's suite (none where it has no solver), and its
    stages: a stage ends where the suite's milestones change (a key picked up, a door opened) or at success. Each
    stage is named for what ends it, e.g. ``'carrying["key"] 0 -> 1'``."""
    found = demonstrator(env)
    if found is None:
        return [], []
    solve, milestone = found
    obs, _ = env.reset(seed=seed)
    actions = solve(env)
    if actions is None:
        return [], []
    state, before = spec.snapshot(obs), milestone(env)
    out: list[Transition] = []
    names: list[str] = []
    for action in actions:
        obs, builtin, terminated, truncated, info = env.step(action)
        prev, state = state, spec.snapshot(obs)
        out.append(Transition(prev, np.asarray(action), state, "demonstration", float(builtin), info, len(names)))
        after = milestone(env)
        changes = [f"{k} {before[k]:g} -> {after[k]:g}" for k in after if after[k] != before.get(k)]
        if terminated or truncated:
            names.append(", ".join([*changes, GOAL_STAGE]))
            break
        if changes:
            names.append(", ".join(changes))
        before = after
    return out, names


def _standing_still(transitions: list[Transition]) -> np.ndarray:
    """Appends to ``transitions``, for each demonstration step, the same action from the same State with nothing
    changed (``prev`` to ``prev``; ``_tick_still`` then lets its clocks run); returns, per transition, the index of
    its counterpart (-1: none). What the program pays there is what it pays for not moving at that very place,
    level and potential designs alike."""
    shown = [i for i, t in enumerate(transitions) if t.stage >= 0]
    counterpart = np.full(len(transitions) + len(shown), -1, dtype=np.int64)
    for i in shown:
        counterpart[i] = len(transitions)
        t = transitions[i]
        transitions.append(Transition(t.prev, t.action, t.prev, STILL, 0.0, {}))
    return counterpart


def _tick_still(layout: list[dict[str, Any]], arrays: dict[str, np.ndarray], counterpart: np.ndarray) -> None:
    """Standing still takes a step of time too: each standing-still counterpart's State becomes its place's
    (``prev``) with the clocks (``CLOCK_FIELDS``) of the step it stands in for, so a reward that pays for time
    passing (``step_count`` in a potential) is paid there as a policy standing still would be paid."""
    shown = np.flatnonzero(counterpart >= 0)
    if not len(shown) or not layout:
        return
    first = len(arrays["field_0"])
    for k, entry in enumerate(layout):
        column = arrays[f"field_{k}"]
        rows = arrays["state" if entry["name"] in CLOCK_FIELDS else "prev"][shown]
        arrays[f"field_{k}"] = np.concatenate([column, column[rows]])
    arrays["state"][counterpart[shown]] = first + np.arange(len(shown))


def _perturb(env: gym.Env, rng: np.random.Generator) -> Any:
    """Push a MuJoCo env to a random nearby state, far from the calm states a fresh reset gives."""
    base = env.unwrapped
    qpos = base.data.qpos.copy() + rng.normal(0.0, 0.3, base.data.qpos.shape)
    qvel = base.data.qvel.copy() + rng.normal(0.0, 3.0, base.data.qvel.shape)
    base.set_state(qpos, qvel)
    return base._get_obs()


def _action(space: Any, kind: str, i: int) -> Any:
    if kind != "extreme":
        return space.sample()
    phase = (i // 10) % 2
    if hasattr(space, "high") and hasattr(space, "low"):
        return (space.high if phase else space.low).astype(space.dtype)
    if hasattr(space, "n"):
        return space.start + (space.n - 1 if phase else 0)
    return space.sample()


# --- States as plain arrays -------------------------------------------------------------------------------


def encode(states: list[State], spec: StateSpec) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """``(layout, arrays)``: one array per field, states along the first axis; mapping fields stack their
    entries along the second. The layout (JSON) says how to read them back."""
    layout: list[dict[str, Any]] = []
    arrays: dict[str, np.ndarray] = {}
    for name, fld in spec.fields.items():
        values = [getattr(s, name) for s in states]
        first = values[0]
        if isinstance(first, Mapping):
            keys = list(first)
            stacked = np.stack([np.stack([np.asarray(v[k]) for k in keys]) for v in values])
            layout.append({"name": name, "kind": "named", "keys": keys, "unit": fld.unit, "doc": fld.doc})
        elif isinstance(first, np.ndarray):
            stacked = np.stack(values)
            layout.append({"name": name, "kind": "array", "unit": fld.unit, "doc": fld.doc})
        else:
            stacked = np.asarray([float(v) for v in values], dtype=np.float64)
            layout.append({"name": name, "kind": "scalar", "unit": fld.unit, "doc": fld.doc})
        arrays[f"field_{len(layout) - 1}"] = stacked
    return layout, arrays


def decode(
    layout: list[dict[str, Any]], arrays: Mapping[str, np.ndarray], names: Iterable[str] | None = None
) -> list[State]:
    """The States ``encode`` recorded, with the same field names, mapping keys, values and types; with ``names``,
    narrowed as training narrows them (``StateSpec.narrowed``), so a field the program reads by a computed name
    fails here, before training, as it would there."""
    columns = [np.asarray(arrays[f"field_{i}"]) for i in range(len(layout))]
    for column in columns:
        column.flags.writeable = False
    count = len(columns[0]) if columns else 0
    fields = [
        Field(entry["name"], entry["unit"], entry["doc"], _reader(entry["name"]), keys=tuple(entry.get("keys", ())))
        for entry in layout
    ]
    spec = StateSpec(fields, dict)
    if names is not None:
        spec = spec.narrowed(names)
    states = []
    for i in range(count):
        snap: dict[str, Any] = {}
        for entry, column in zip(layout, columns, strict=True):
            if entry["kind"] == "named":
                snap[entry["name"]] = NamedValues(entry["name"], {k: j for j, k in enumerate(entry["keys"])}, column[i])
            elif entry["kind"] == "array":
                snap[entry["name"]] = column[i]
            else:
                snap[entry["name"]] = float(column[i])
        states.append(State(spec, snap))
    return states


def _reader(name: str) -> Any:
    return lambda snap: snap[name]


def write_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    with path.open("xb") as handle:
        np.savez(handle, **arrays)


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Plain arrays from ``path``: never through a link, never unpickled, at most MAX_FILE_BYTES."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        if os.fstat(handle.fileno()).st_size > MAX_FILE_BYTES:
            raise ValueError(f"{path.name} is larger than {MAX_FILE_BYTES >> 20} MiB")
        with np.load(handle, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}


# --- the job -----------------------------------------------------------------------------------------------


def run_job(ctx: JobContext) -> dict[str, Any]:
    """Job kind ``"dryrun-rollout"``: the card's env, rolled out; never loads a program."""
    from autoreward.envs.make import card_state_spec, make_card_env
    from autoreward.tasks import TaskCard

    card = TaskCard.model_validate(ctx.params["card"])
    if ctx.params.get("card_source"):
        card = card.model_copy(update={"source": Path(ctx.params["card_source"])})
    env = make_card_env(card)
    spec = card_state_spec(card, env)
    seed = int(ctx.params.get("seed", 0))
    transitions = list(rollouts(env, spec, int(ctx.params["steps"]), seed))
    stages: list[str] = []
    for k in range(DEMONSTRATIONS):
        shown, names = demonstration(env, spec, seed + DEMONSTRATION_SEED + k)
        transitions += [dataclasses.replace(t, stage=t.stage + len(stages)) for t in shown]
        stages += names
    counterpart = _standing_still(transitions)
    env.close()
    ctx.lock_down()  # seccomp in every job kind, a program-free one too
    fitness = EpisodeFitness(card.fitness_spec) if card.fitness_spec is not None else None
    states: list[State] = []
    index: dict[int, int] = {}
    for t in transitions:
        for s in (t.prev, t.state):
            if id(s) not in index:
                index[id(s)] = len(states)
                states.append(s)
    layout, arrays = encode(states, spec)
    arrays["prev"] = np.array([index[id(t.prev)] for t in transitions], dtype=np.int64)
    arrays["state"] = np.array([index[id(t.state)] for t in transitions], dtype=np.int64)
    arrays["action"] = np.stack([t.action for t in transitions])
    increments = [fitness.increment(t.prev, t.action, t.state, t.builtin, t.info)
                  if fitness and t.rollout != STILL else None for t in transitions]  # fmt: skip
    arrays["fitness"] = np.array([np.nan if v is None else v for v in increments], dtype=np.float64)
    arrays["stage"] = np.array([t.stage for t in transitions], dtype=np.int64)
    arrays["still"] = counterpart
    _tick_still(layout, arrays, counterpart)
    write_npz(ctx.scratch / ROLLOUTS_FILE, arrays)
    return {"layout": layout, "rollouts": [t.rollout for t in transitions], "stages": stages}
