"""Task cards: an env id, a sentence of intent and a true fitness, read from TOML; and the catalog of them."""

from __future__ import annotations

import difflib
import re
import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from autoreward.envs.fitness import METRICS, REDUCTIONS, FitnessSpec, check_expression
from autoreward.envs.suites import suite_for
from autoreward.errors import TaskError
from autoreward.subgoals import Subgoal, as_subgoals

_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

_FIX = {
    "name": 'use kebab-case <robot>-<behaviour>, e.g. name = "hopper-forward"',
    "env_id": 'give a registered gymnasium id, e.g. env_id = "Hopper-v5"',
    "intent": 'describe the behaviour in one or more sentences, e.g. intent = "Hop forward fast."',
    "fitness": (
        f'name a library metric ({", ".join(METRICS)}) or write fitness = {{ expr = "state.x_position", '
        f'reduce = "delta" }} with reduce one of {", ".join(REDUCTIONS)}'
    ),
    "timesteps": "give a positive whole number, e.g. timesteps = 200000",
    "max_episode_steps": "give a positive whole number, e.g. max_episode_steps = 1000",
    "success_threshold": "give a number the fitness must reach, e.g. success_threshold = 2.0",
    "env_kwargs": "give a table, e.g. env_kwargs = { frame_skip = 4 }",
    "module": "give an importable module or a .py path relative to the card",
    "subgoals": (
        'give one table per stage, e.g. [[subgoals]] ends_when = "doors_open" (ends = "rises" or "falls"), '
        'progress = \'distance["door"]\' (direction = "shrinks" or "grows"), note = "the door is opened"'
    ),
    "reference": 'give the path of a hand-written reward program relative to the card, e.g. reference = "mine.py"',
    "from": 'list reward programs to start from, relative to the card, e.g. from = ["reward.py"] (or "builtin")',
    "algorithm": 'one of ppo, sac, td3, a2c, dqn, e.g. algorithm = "sac"',
    "hyperparameters": "give a table of rl-zoo3 keys, e.g. [hyperparameters] learning_rate = 0.001",
    "n_envs": "give a positive whole number of parallel envs, e.g. n_envs = 4",
    "observation": "name observation entries: position = [0, 2] (a [start, stop) slice) or speed = 2 (one index)",
}
_FIELD_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def obs_span(where: int | list[int]) -> tuple[int, int] | None:
    """``[start, stop)`` of a card's observation entry (an index or a two-element slice), or None if invalid."""
    start, stop = (where, where + 1) if isinstance(where, int) else (tuple(where) if len(where) == 2 else (0, 0))
    return (start, stop) if 0 <= start < stop else None


class FitnessExpr(BaseModel):
    """A card's own fitness: a per-step expression over the State and its reduction over an episode."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    expr: str
    reduce: Literal["mean", "sum", "last", "max", "min", "delta"] = "mean"
    unit: str = ""

    @field_validator("expr")
    @classmethod
    def _parses(cls, expr: str) -> str:
        problem = check_expression(expr)
        if problem:
            raise ValueError(f"expression does not parse: {problem}")
        return expr


class TaskCard(BaseModel):
    """One task: what to make, what the user wants, and how success is truly measured."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=True)

    name: str
    env_id: str
    intent: str
    fitness: str | FitnessExpr | None = None
    success_threshold: float | None = None
    max_episode_steps: int | None = Field(default=None, gt=0)
    timesteps: int = Field(default=200_000, gt=0)
    env_kwargs: dict[str, Any] = Field(default_factory=dict)
    module: str | None = None
    reference: str | None = Field(default=None, description="a hand-written reward program, relative to the card")
    family: str = "custom"
    subgoals: list[Subgoal] = Field(
        default_factory=list,
        description="the stages towards a sparse goal, each with what ends it and what measures progress in it",
    )
    ends_on_success: bool = Field(
        default=False,
        description="reaching the goal ends the episode (MiniGrid, MountainCar): a reward paid for waiting then "
        "teaches a policy never to finish, and the Critic rejects one",
    )
    start_from: list[str] = Field(
        default_factory=list, alias="from", description="reward programs to start from, relative to the card"
    )
    algorithm: Literal["ppo", "sac", "td3", "a2c", "dqn"] = Field(
        default="ppo", description="the stable-baselines3 learner every candidate trains with"
    )
    hyperparameters: dict[str, Any] = Field(
        default_factory=dict,
        description="the learner's settings as rl-zoo3's YAML keys, over the zoo's tuned entry where one exists",
    )
    n_envs: int | None = Field(default=None, gt=0, description="parallel envs (default: the zoo's or 1)")
    observation: dict[str, int | list[int]] = Field(
        default_factory=dict,
        description="names for entries of the env's observation: name = index (a scalar State field) or "
        "name = [start, stop] (a vector field)",
    )
    source: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _family_from_env(cls, data: Any) -> Any:
        """A card that names no family gets its suite's (the worked example and the family's checks follow);
        gymnasium's own envs and users' envs stay ``custom``."""
        if isinstance(data, dict) and "family" not in data and isinstance(data.get("env_id"), str):
            suite = suite_for(data["env_id"])
            if suite is not None:
                return {**data, "family": suite.card_family}
        return data

    @field_validator("subgoals", mode="before")
    @classmethod
    def _typed_subgoals(cls, items: Any) -> Any:
        return as_subgoals(items) if isinstance(items, list) else items

    @field_validator("name")
    @classmethod
    def _kebab(cls, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError(f"{name!r} is not kebab-case")
        return name

    @field_validator("intent", "env_id")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @field_validator("fitness")
    @classmethod
    def _known_metric(cls, fitness: str | FitnessExpr | None) -> str | FitnessExpr | None:
        if isinstance(fitness, str) and fitness not in METRICS:
            close = difflib.get_close_matches(fitness, list(METRICS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"unknown metric {fitness!r}{hint}")
        return fitness

    @field_validator("start_from")
    @classmethod
    def _start_names(cls, values: list[str]) -> list[str]:
        if any(not value.strip() for value in values):
            raise ValueError("an empty path")
        return values

    @field_validator("observation")
    @classmethod
    def _observation_names(cls, names: dict[str, int | list[int]]) -> dict[str, int | list[int]]:
        taken: dict[int, str] = {}
        for name, where in names.items():
            if not _FIELD_NAME.match(name):
                raise ValueError(f"{name!r} is not a lower-case Python name")
            span = obs_span(where)
            if span is None:
                raise ValueError(f"{name} = {where!r} is neither an index >= 0 nor a slice [start, stop], start < stop")
            for i in range(*span):
                if i in taken:
                    raise ValueError(f"{name} and {taken[i]} both name observation entry {i}")
                taken[i] = name
        return names

    @property
    def observation_spans(self) -> dict[str, tuple[int, int, bool]]:
        """Each named observation entry as (start, stop, vector): ``speed = 2`` is (2, 3, False)."""
        return {name: (*obs_span(where), isinstance(where, list)) for name, where in self.observation.items()}  # type: ignore[misc]

    @model_validator(mode="after")
    def _threshold_needs_fitness(self) -> TaskCard:
        if self.success_threshold is not None and self.fitness is None:
            raise ValueError("success_threshold needs a fitness to compare with")
        return self

    @property
    def fitness_spec(self) -> FitnessSpec | None:
        """The fitness as one evaluable spec, library metric or card expression alike."""
        if self.fitness is None:
            return None
        if isinstance(self.fitness, str):
            return METRICS[self.fitness]
        return FitnessSpec(self.fitness.expr, self.fitness.reduce, "the card's own expression", self.fitness.unit)

    @property
    def sparse(self) -> bool:
        """Whether the fitness only says "done or not" at the end: a success rate or the maximum of an
        indicator. A random policy then sees no gradient, so prompts ask for progress terms between sub-goals."""
        if isinstance(self.fitness, str):
            return self.fitness == "success_rate"
        return self.fitness is not None and self.fitness.reduce == "max"

    @property
    def subgoal_fields(self) -> list[str]:
        """The State field each sub-goal is known by (what ends its stage, else what measures it)."""
        return [s.head for s in self.subgoals]

    @property
    def subgoal_flags(self) -> list[str]:
        """The fields that end a stage (``ends_when``): reached in order, they make the task staged, and the prompt's
        potential adds them; the others are measures to a target."""
        return [s.ends_when for s in self.subgoals if s.ends_when]

    @property
    def subgoal_gains(self) -> list[str]:
        """Each flag as an expression that rises 0 -> 1 when its sub-goal is reached and stays 1 once a later one is:
        ``state.doors_open``, ``(1 - state.doors_locked)`` for a flag that falls, ``max(state.carrying["key"],
        state.doors_open)`` for one a later sub-goal may undo; a sum of them only grows on the way."""
        rising = [
            f"(1 - state.{s.ends_when})" if s.ends == "falls" else f"state.{s.ends_when}"
            for s in self.subgoals
            if s.ends_when
        ]
        # Reached in order, a sub-goal stays reached once a later one is (a key dropped after its door opened).
        return [f"max({', '.join(rising[i:])})" if i < len(rising) - 1 else g for i, g in enumerate(rising)]

    @property
    def subgoal_targets(self) -> list[str]:
        """The progress measures (``distance["key"]``, ...), in stage order: in a staged task, each stage's target."""
        flags = set(self.subgoal_flags)
        return [m for m in dict.fromkeys(s.progress for s in self.subgoals if s.progress) if m not in flags]

    @property
    def subgoal_distances(self) -> list[str]:
        """Each target as a distance to shrink, for the staged potential's ``- distance``: a target that grows (a
        count, ``inventory["wood"]``) is negated, so collecting more raises the potential."""
        growing = {s.progress for s in self.subgoals if s.direction == "grows"}
        return [f"-state.{t}" if t in growing else f"state.{t}" for t in self.subgoal_targets]

    @property
    def reaching(self) -> bool:
        """Whether reaching the goal ends the episode while the fitness is dense (Acrobot: steps to the bar): a
        reward positive on every step then pays for never finishing, so prompts show a reaching example and say
        so (a sparse card's potential difference covers it)."""
        return self.ends_on_success and not self.sparse

    @property
    def goal_distance(self) -> str | None:
        """On a sparse card without flags, the field its first sub-goal says shrinks on the way (LavaGap's
        ``path["goal"]``): the one-stage potential is then minus a distance, so its sign is the skeleton's,
        not the model's (14 of 18 rejected LavaGap programs paid for a growing distance)."""
        if self.subgoal_flags or not self.subgoals:
            return None
        first = self.subgoals[0]
        return f"state.{first.progress}" if first.direction == "shrinks" else None

    @property
    def fitness_text(self) -> str:
        if self.fitness is None:
            return "none (human preference only)"
        if isinstance(self.fitness, str):
            return self.fitness
        return f"{self.fitness.reduce}({self.fitness.expr})"

    @property
    def reference_path(self) -> Path | None:
        """The hand-written reward program that ``evaluate`` normalises against (Eureka's "human" reward)."""
        if self.reference is None:
            return None
        base = self.source.parent if self.source is not None else Path.cwd()
        return (base / self.reference).resolve()

    def require_fitness(self) -> FitnessSpec:
        """The fitness spec, or a clear error: a card without fitness can only be judged by a person."""
        spec = self.fitness_spec
        if spec is None:
            raise TaskError(
                f"task {self.name!r} has no fitness: run it with --preference human, or add fitness to "
                f"{self.source or 'its card'}"
            )
        return spec


def _card_error(path: Path, err: ValidationError) -> TaskError:
    # A union field (fitness) reports one error per member: the member the user meant is not a type mismatch.
    first = min(err.errors(), key=lambda e: e["type"].endswith("_type"))
    loc = [str(p) for p in first["loc"] if not str(p).startswith(("str", "FitnessExpr"))]
    field = loc[0] if loc else "card"
    where = ".".join(loc) if loc else "card"
    if first["type"] == "extra_forbidden":
        known = {"subgoals": list(Subgoal.model_fields), "fitness": list(FitnessExpr.model_fields)}.get(field, [*_FIX])
        close = difflib.get_close_matches(loc[-1] if loc else field, known, n=1)
        hint = f"rename it to {close[0]!r}" if close else f"remove it (known fields: {', '.join(known)})"
        return TaskError(f"{path}: unknown field {where!r}: {hint}")
    if first["type"] == "missing":
        return TaskError(f"{path}: missing field {where!r}: {_FIX.get(field, 'add it')}")
    message = first["msg"].removeprefix("Value error, ")
    return TaskError(f"{path}: field {where!r}: {message}; {_FIX.get(field, 'fix its value')}")


def load_card(path: str | Path) -> TaskCard:
    """Read and validate one card; every problem names the file, the field and the fix."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TaskError(f"{path}: no such task card file; check the path") from None
    except tomllib.TOMLDecodeError as err:
        raise TaskError(f"{path}: not valid TOML ({err}); fix the syntax") from None
    if "source" in data:
        raise TaskError(f"{path}: unknown field 'source': remove it")
    try:
        card = TaskCard.model_validate({**data, "source": path.resolve()})
    except ValidationError as err:
        raise _card_error(path, err) from None
    for entry in card.start_from:
        if entry != "builtin" and not (path.parent / entry).is_file():
            raise TaskError(f"{path}: field 'from': no file {entry} next to the card; {_FIX['from']}")
    return card


def catalog_dir() -> Path:
    return Path(str(resources.files("autoreward.envs") / "cards"))


@cache
def catalog() -> dict[str, TaskCard]:
    """Every card shipped with autoreward, by name."""
    cards = [load_card(p) for p in sorted(catalog_dir().glob("*.toml"))]
    return {card.name: card for card in cards}


def resolve_task(task: str) -> TaskCard:
    """A catalog name or a path to a card; an unknown name suggests the closest ones."""
    if task.endswith(".toml") or Path(task).is_file():
        return load_card(task)
    cards = catalog()
    if task in cards:
        return cards[task]
    close = difflib.get_close_matches(task, list(cards), n=3, cutoff=0.4)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise TaskError(f"unknown task {task!r}: {hint}run `autoreward tasks` to list them, or pass a card's path")
