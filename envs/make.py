"""Make a card's env and its State: register the user's module, call gymnasium.make, explain failures."""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import gymnasium as gym

from autoreward.envs.classic import obs_layout
from autoreward.envs.fitness import captured_names, unknown_fields
from autoreward.envs.state import HOOK, StateSpec, build_state_spec, flat_obs, hook_fields, named_obs_fields, obs_fields
from autoreward.envs.suites import adapt, prepare, suite_for, suite_state_spec
from autoreward.errors import TaskError

# Which package registers which env ids, for "unknown env" messages.
_PROVIDERS: tuple[tuple[str, str, str], ...] = (
    ("Meta-World/", "metaworld", "pip install 'autoreward[metaworld]'"),
    ("Fetch", "gymnasium-robotics", "pip install 'autoreward[robotics]'"),
    ("Adroit", "gymnasium-robotics", "pip install 'autoreward[robotics]'"),
    ("PointMaze", "gymnasium-robotics", "pip install 'autoreward[robotics]'"),
    ("AntMaze", "gymnasium-robotics", "pip install 'autoreward[robotics]'"),
    ("MiniGrid-", "minigrid", "pip install 'autoreward[minigrid]'"),
    ("BabyAI-", "minigrid", "pip install 'autoreward[minigrid]'"),
    ("Crafter", "crafter", "pip install 'autoreward[crafter]'"),
    ("ManiSkill/", "mani-skill (GPU only)", "pip install 'autoreward[maniskill]'"),
    ("ALE/", "ale-py", "pip install ale-py"),
)


def _provider_hint(env_id: str) -> str:
    for prefix, package, install in _PROVIDERS:
        if env_id.startswith(prefix):
            return f"it is provided by {package}: {install}"
    return "check the id against `gymnasium.pprint_registry()`, or set `module` in the card to register it"


def _import_module(module: str, card_path: Path | None) -> None:
    """Import the card's ``module``: a dotted name, or a .py path relative to the card."""
    where = f"{card_path}: field 'module'" if card_path else "module"
    if module.endswith(".py") or "/" in module:
        path = Path(module)
        if card_path is not None and not path.is_absolute():
            path = card_path.parent / path
        if not path.is_file():
            raise TaskError(f"{where}: no file {path}; give a path relative to the card")
        name = f"autoreward_user_{path.stem}"
        if name in sys.modules:
            return
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        try:
            spec.loader.exec_module(mod)
        except Exception as err:
            del sys.modules[name]
            raise TaskError(f"{where}: importing {path} failed: {type(err).__name__}: {err}") from None
        return
    try:
        importlib.import_module(module)
    except ImportError as err:
        raise TaskError(f"{where}: cannot import {module!r} ({err}); install it or fix the name") from None


def module_paths(module: str | None) -> dict[str, list[Path]]:
    """Where a card's ``module`` (a dotted name, not a .py path) is imported from here, found without importing
    it: a sandboxed worker runs ``python -I``, which ignores PYTHONPATH, so it may read the module's own file or
    package (``expose``; nothing else of that folder) and imports from the folder (``python_path``)."""
    if not module or module.endswith(".py") or "/" in module:
        return {"expose": [], "python_path": []}
    try:
        spec = importlib.util.find_spec(module.partition(".")[0])
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        own = Path(next(iter(spec.submodule_search_locations)))
    elif spec is not None and spec.origin and spec.has_location:
        own = Path(spec.origin)
    else:
        return {"expose": [], "python_path": []}
    return {"expose": [own], "python_path": [own.parent]}


def card_folders(card: Any) -> dict[str, list[Path]]:
    """What a sandboxed job over ``card`` may read and import from: the card's folder (for a module next to it)
    and its importable module (``module_paths``); keyword arguments of ``sandbox.jobs.Job``."""
    own = module_paths(card.module)
    return {"expose": [*([card.source.parent] if card.source is not None else []), *own["expose"]],
            "python_path": own["python_path"]}  # fmt: skip


def make_env(
    env_id: str,
    *,
    env_kwargs: dict[str, Any] | None = None,
    max_episode_steps: int | None = None,
    module: str | None = None,
    card_path: Path | None = None,
    render_mode: str | None = None,
) -> gym.Env:
    """``gymnasium.make`` with the card's settings; an unknown id says which package provides it. An env of an
    optional suite (``envs/suites.py``) is checked and registered first, and gets the suite's observation wrapper."""
    suite = suite_for(env_id)
    if suite is not None:
        prepare(suite, env_id)
    if module:
        _import_module(module, card_path)
    kwargs = dict(env_kwargs or {})
    if render_mode:
        kwargs["render_mode"] = render_mode
    try:
        return adapt(suite, gym.make(env_id, max_episode_steps=max_episode_steps, **kwargs))
    except gym.error.Error as err:
        if isinstance(err, gym.error.NameNotFound | gym.error.NamespaceNotFound | gym.error.VersionNotFound):
            raise TaskError(f"unknown env id {env_id!r}: {_provider_hint(env_id)}") from None
        if isinstance(err, gym.error.DependencyNotInstalled):
            raise TaskError(f"env {env_id!r} needs a package that is missing: {err}") from None
        raise TaskError(f"env {env_id!r} could not be made: {err}") from None
    except TypeError as err:
        where = f"{card_path}: field 'env_kwargs'" if card_path else f"env {env_id!r}"
        raise TaskError(f"{where}: {env_id} rejected them ({err}); fix or remove them") from None


def make_card_env(card: Any, render_mode: str | None = None) -> gym.Env:
    """The env of a TaskCard (duck-typed to keep this module below the card layer)."""
    return make_env(
        card.env_id,
        env_kwargs=card.env_kwargs,
        max_episode_steps=card.max_episode_steps,
        module=card.module,
        card_path=card.source,
        render_mode=render_mode,
    )


def state_spec(env: gym.Env) -> StateSpec:
    """The env's State: MuJoCo names where it has a model, plus the documented layout of its observation."""
    env_id = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
    own = suite_state_spec(suite_for(env_id), env)
    return own if own is not None else build_state_spec(env, obs_layout(env_id))


def user_module(module: str | None) -> Any:
    """The card's env module, once ``make_env`` imported it (None without one)."""
    if not module:
        return None
    path = module.endswith(".py") or "/" in module
    return sys.modules.get(f"autoreward_user_{Path(module).stem}" if path else module)


def _with_hook(card: Any, env: gym.Env, spec: StateSpec) -> StateSpec:
    """``spec`` plus the fields of the card's module's ``autoreward_state(env)``, where it defines one."""
    hook = getattr(user_module(card.module), HOOK, None)
    if not callable(hook):
        return spec
    where = f"{card.source or card.name}: {card.module}'s {HOOK}(env)"
    try:
        fields, parts = hook_fields(env, hook)
    except Exception as err:
        raise TaskError(
            f"{where} failed: {type(err).__name__}: {err}; make it return {{name: number or array}}"
        ) from None
    for field in fields:
        if field.name in spec.fields or not field.name.isidentifier():
            raise TaskError(f"{where}: {field.name!r} is a State field already or no Python name; rename it")
    return spec.extended(fields, parts)


def named_state_spec(card: Any, env: gym.Env) -> StateSpec:
    """The env's State plus the fields the card's ``[observation]`` table names, checked against the env, and
    those its module's ``autoreward_state(env)`` returns."""
    spec = _with_hook(card, env, state_spec(env))
    spans = card.observation_spans
    if not spans:
        return spec
    size = flat_obs(env.observation_space.sample()).size
    where = f"{card.source or card.name}: field 'observation'"
    for name, (_start, stop, _) in spans.items():
        if name in spec.fields:
            raise TaskError(f"{where}: {name!r} is already a State field of {card.env_id}; choose another name")
        if stop > size:
            raise TaskError(
                f"{where}: {name} reaches entry {stop - 1}, but the observation of {card.env_id} has {size} entries "
                f"(0 to {size - 1}); fix the index"
            )
    return spec.extended(obs_fields(named_obs_fields(spans)))


def card_state_spec(card: Any, env: gym.Env, program_names: Iterable[str] | None = None) -> StateSpec:
    """The State of a card's env, after checking that the card's fitness reads only fields it has; with
    ``program_names``, narrowed to the fields the program and the fitness read (``captured_names``)."""
    spec = named_state_spec(card, env)
    fitness = card.fitness_spec
    missing = unknown_fields(fitness.expr, spec.fields) if fitness is not None else []
    if missing:
        close = difflib.get_close_matches(missing[0], list(spec.fields), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        fields = ", ".join(name for name in spec.fields if name != "obs")
        raise TaskError(
            f"{card.source or card.name}: field 'fitness': the State of {card.env_id} has no field "
            f"{missing[0]!r}; {hint}its fields are obs, {fields} (`autoreward describe` shows their ranges)"
        )
    return spec if program_names is None else spec.narrowed(captured_names(card.fitness_spec, program_names))


# The action spaces each of the card's algorithms (stable-baselines3's) can act in.
_ACTION_SPACES: dict[str, tuple[type[gym.Space], ...]] = {
    "ppo": (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary),
    "a2c": (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary),
    "sac": (gym.spaces.Box,),
    "td3": (gym.spaces.Box,),
    "dqn": (gym.spaces.Discrete,),
}


def check_algorithm(card: Any, space: gym.Space, where: str | None = None) -> None:
    """A TaskError where the card's algorithm cannot act in ``space`` (SAC on a Discrete space, DQN on a Box);
    ``where`` names what chose it (default: the card's field)."""
    algorithm = card.algorithm
    if isinstance(space, _ACTION_SPACES[algorithm]):
        return
    fits = ", ".join(name for name, kinds in _ACTION_SPACES.items() if isinstance(space, kinds))
    where = where or f"{card.source or card.name}: field 'algorithm'"
    raise TaskError(f"{where}: {algorithm} cannot act in {card.env_id}'s action space {space}; choose one of {fits}")


def with_algorithm(card: Any, algorithm: str | None) -> Any:
    """``card`` trained with ``algorithm`` (``--algorithm``), checked against its env's action space; None keeps
    the card's own."""
    if algorithm is None:
        return card
    if algorithm not in _ACTION_SPACES:
        raise TaskError(f"--algorithm {algorithm!r} is not one of {', '.join(_ACTION_SPACES)}")
    card = card.model_copy(update={"algorithm": algorithm})
    env = make_card_env(card)
    try:
        check_algorithm(card, env.action_space, f"--algorithm {algorithm}")
    finally:
        env.close()
    return card


def check_card_env(card: Any) -> None:
    """Make the card's env once and check that its fitness reads only fields the State has and that its algorithm
    fits the action space (before a run is stored that could never describe or train it)."""
    env = make_card_env(card)
    try:
        card_state_spec(card, env)
        check_algorithm(card, env.action_space)
    finally:
        env.close()
