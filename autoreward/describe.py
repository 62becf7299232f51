"""The EnvDescription: the compact, named account of an env that the LLM reasons about.

Every State field with its unit and the range it took over a short random rollout, the action space with
actuator names, the episode length, and which State field each observation entry is (found by matching the
observation against the fields on the same rollout, so a user's own env gets a layout too).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import gymnasium as gym
import numpy as np
from pydantic import BaseModel

from autoreward.envs.make import card_state_spec, make_card_env, named_state_spec
from autoreward.envs.state import StateSpec, actuator_names, field_values
from autoreward.envs.suites import action_names
from autoreward.tasks import TaskCard
from autoreward.templates import render
from autoreward.tokens import count_tokens


class FieldEntry(BaseModel):
    key: str  # "" for a plain field, the name for a mapping field's entry
    low: list[float]
    high: list[float]


class FieldDescription(BaseModel):
    name: str
    unit: str
    doc: str
    kind: Literal["scalar", "vector", "mapping"]
    shape: list[int]
    entries: list[FieldEntry]


class ObsSpan(BaseModel):
    start: int
    stop: int
    field: str | None  # None: no State field matches these entries
    parts: list[str]


class ActionDescription(BaseModel):
    kind: Literal["box", "discrete", "other"]
    shape: list[int]
    low: list[float]
    high: list[float]
    names: list[str]
    n: int = 0
    text: str = ""


class EnvDescription(BaseModel):
    task: str
    env_id: str
    intent: str
    max_episode_steps: int | None
    dt: float | None
    obs_shape: list[int]
    obs_layout: list[ObsSpan]
    obs_doc: str = "the env's own observation, unchanged"
    action: ActionDescription
    fields: list[FieldDescription]
    rollout_steps: int
    terminations: int
    family: str = "custom"
    sparse: bool = False  # the fitness only says "done or not": progress must come from sub-goals
    subgoals: list[str] = []  # the card's State fields that mark progress towards a sparse goal

    def render(self, prompts_dir: Path | None = None) -> str:
        return render("description.j2", prompts_dir, d=self)

    def tokens(self, prompts_dir: Path | None = None) -> int:
        return count_tokens(self.render(prompts_dir))


def _random_rollout(env: gym.Env, spec: StateSpec, steps: int, seed: int) -> tuple[np.ndarray, dict, int]:
    """Observations, flattened field values and early terminations of ``steps`` random steps."""
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    rows_obs, rows_vals, terminations = [], [], 0
    for t in range(steps):
        state = spec.snapshot(obs)
        rows_obs.append(np.asarray(state.obs, dtype=np.float64).ravel())
        rows_vals.append(field_values(state))
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        terminations += bool(terminated)
        if terminated or truncated:
            obs, _ = env.reset(seed=seed + t + 1)
    values = {k: np.stack([row[k] for row in rows_vals]) for k in rows_vals[0]}
    return np.stack(rows_obs), values, terminations


def _describe_fields(spec: StateSpec, values: dict[str, np.ndarray]) -> list[FieldDescription]:
    out = []
    for name, fld in spec.fields.items():
        if name == "obs":
            continue
        keys = fld.keys or ("",)
        entries = []
        for key in keys:
            column = values[f'{name}["{key}"]' if key else name]
            entries.append(FieldEntry(key=key, low=column.min(axis=0).tolist(), high=column.max(axis=0).tolist()))
        kind = "mapping" if fld.keys else ("vector" if fld.shape else "scalar")
        out.append(FieldDescription(name=name, unit=fld.unit, doc=fld.doc, kind=kind, shape=list(fld.shape),
                                    entries=entries))  # fmt: skip
    return out


def _match_obs(obs: np.ndarray, values: dict[str, np.ndarray]) -> list[tuple[str, str] | None]:
    """For each observation entry, the (field, part) it equals on >= 90% of the steps where either is
    non-zero (so mostly-zero signals such as contact forces don't match each other by accident)."""
    columns: list[tuple[str, str, np.ndarray]] = []
    for path, arr in values.items():
        field, _, key = path.partition("[")
        key = key.strip('"]')
        for c in range(arr.shape[1]):
            part = key if arr.shape[1] == 1 else (f"{key}[{c}]" if key else f"[{c}]")
            if len(np.unique(arr[:, c])) > 2:  # flags such as contact would match any clipped signal
                columns.append((field, part, arr[:, c]))
    # Joint fields first: an obs entry that is a joint position should read as one.
    columns.sort(key=lambda col: col[0] not in ("joint_angle", "joint_velocity"))
    matches: list[tuple[str, str] | None] = []
    for i in range(obs.shape[1]):
        target = obs[:, i]
        found = None
        if np.ptp(target) > 1e-9:
            for field, part, col in columns:
                active = (np.abs(target) > 1e-9) | (np.abs(col) > 1e-9)
                equal = np.abs(target - col) <= 1e-6 * (1 + np.abs(col))
                if active.sum() >= 5 and np.mean(equal[active]) >= 0.9:
                    found = (field, part)
                    break
        matches.append(found)
    return matches


def _obs_layout(matches: list[tuple[str, str] | None]) -> list[ObsSpan]:
    spans: list[ObsSpan] = []
    for i, match in enumerate(matches):
        field = match[0] if match else None
        if spans and spans[-1].field == field and spans[-1].stop == i:
            spans[-1].stop = i + 1
            if match:
                spans[-1].parts.append(match[1])
        else:
            spans.append(ObsSpan(start=i, stop=i + 1, field=field, parts=[match[1]] if match else []))
    return spans


def _describe_action(env: gym.Env) -> ActionDescription:
    space = env.action_space
    if isinstance(space, gym.spaces.Box):
        names = action_names(env) or actuator_names(env)
        return ActionDescription(kind="box", shape=list(space.shape), low=space.low.ravel().tolist(),
                                 high=space.high.ravel().tolist(), names=names)  # fmt: skip
    if isinstance(space, gym.spaces.Discrete):
        return ActionDescription(kind="discrete", shape=[], low=[], high=[], names=action_names(env), n=int(space.n))
    return ActionDescription(kind="other", shape=[], low=[], high=[], names=[], text=str(space))


def describe(card: TaskCard, steps: int = 300, seed: int = 0, *, check_fitness: bool = True) -> EnvDescription:
    """Make the card's env, roll it out randomly for ``steps`` steps, and describe what the State holds.
    ``check_fitness=False`` describes a card whose fitness reads a missing field (to help fix it)."""
    env = make_card_env(card)
    try:
        spec = card_state_spec(card, env) if check_fitness else named_state_spec(card, env)
        obs, values, terminations = _random_rollout(env, spec, steps, seed)
        return EnvDescription(
            task=card.name,
            env_id=card.env_id,
            intent=card.intent,
            max_episode_steps=env.spec.max_episode_steps if env.spec else None,
            dt=getattr(env.unwrapped, "dt", None),
            obs_shape=list(np.shape(env.observation_space.sample())),
            obs_layout=_obs_layout(_match_obs(obs, values)),
            obs_doc=spec.fields["obs"].doc,
            action=_describe_action(env),
            fields=_describe_fields(spec, values),
            rollout_steps=steps,
            terminations=terminations,
            family=card.family,
            sparse=card.sparse,
            subgoals=[s.text for s in card.subgoals],
        )
    finally:
        env.close()
