"""Optional task suites: which env ids belong to which, what each needs installed, and its adapter.

A suite's packages are an optional extra (``pip install 'autoreward[metaworld]'``). Before ``gymnasium.make``,
``prepare`` checks that they are importable (and any other requirement, such as ManiSkill3's GPU) and imports
the module that registers the suite's ids, so a card never needs ``module`` for a suite and a missing suite is
one line naming the extra. After ``make``, ``adapt`` applies the suite's observation wrapper (the policy needs
one flat float vector), and ``suite_state_spec`` builds the State where the suite has its own builder (the
symbolic worlds); the manipulation suites use the automatic MuJoCo builder plus their documented layouts.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autoreward.errors import TaskError

if TYPE_CHECKING:
    import gymnasium as gym

    from autoreward.envs.state import StateSpec


@dataclass(frozen=True)
class Suite:
    """One optional suite: the env-id prefixes it owns, the extra that installs it, and its adapter module
    (``autoreward.envs.<name>``) with ``wrap(env)``, ``state_spec(env)`` and ``action_names(env)`` where needed."""

    name: str  # also the name of the pyproject extra
    prefixes: tuple[str, ...]
    packages: tuple[str, ...]  # import names that must be present
    registers: str | None = None  # module whose import registers the suite's env ids
    adapter: str | None = None
    requirement: str = ""  # what else the suite needs, for messages
    check: Callable[[], str | None] | None = None  # a reason the requirement is not met, or None
    # Whether ``autoreward export``'s file can stand alone: the manipulation suites' States are the generic MuJoCo
    # builder plus layouts it ships; the symbolic worlds' builders live in their adapters, which the file imports.
    standalone: bool = True
    family: str = ""  # the task family its cards belong to (worked example, checks); "" means its name

    @property
    def card_family(self) -> str:
        return self.family or self.name

    @property
    def install(self) -> str:
        return f"pip install 'autoreward[{self.name}]'"


def _gpu_missing() -> str | None:
    from autoreward.envs.maniskill import gpu_missing

    return gpu_missing()


SUITES: tuple[Suite, ...] = (
    Suite("metaworld", ("Meta-World/",), ("metaworld",), registers="metaworld", adapter="autoreward.envs.metaworld"),
    Suite("robotics", ("Fetch",), ("gymnasium_robotics",), registers="gymnasium_robotics",
          adapter="autoreward.envs.fetch", family="fetch"),
    Suite("minigrid", ("MiniGrid-", "BabyAI-"), ("minigrid",), registers="minigrid",
          adapter="autoreward.envs.minigrid", standalone=False),
    Suite("crafter", ("Crafter-",), ("crafter",), registers="autoreward.envs.crafter",
          adapter="autoreward.envs.crafter", standalone=False),
    Suite("maniskill", ("ManiSkill/",), ("mani_skill",), registers="autoreward.envs.maniskill",
          adapter="autoreward.envs.maniskill", requirement="an NVIDIA GPU with Vulkan", check=_gpu_missing,
          standalone=False),
)  # fmt: skip


def suite_for(env_id: str) -> Suite | None:
    """The suite that owns ``env_id``, or None for gymnasium's own envs and users' envs."""
    return next((s for s in SUITES if env_id.startswith(s.prefixes)), None)


def prepare(suite: Suite, env_id: str) -> None:
    """Check the suite is installed and usable here, and register its ids; else one line naming the fix."""
    missing = [p for p in suite.packages if importlib.util.find_spec(p) is None]
    if missing:
        raise TaskError(
            f"env {env_id!r} is in the {suite.name} suite, which is not installed ({missing[0]} is missing): "
            f"{suite.install}"
        )
    reason = suite.check() if suite.check else None
    if reason:
        raise TaskError(f"env {env_id!r} is in the {suite.name} suite, which needs {suite.requirement}: {reason}")
    if suite.registers:
        importlib.import_module(suite.registers)


def _adapter(suite: Suite | None) -> Any:
    return importlib.import_module(suite.adapter) if suite is not None and suite.adapter else None


def adapt(suite: Suite | None, env: gym.Env) -> gym.Env:
    """The env as autoreward trains it: the suite's observation wrapper applied, if it has one."""
    wrap = getattr(_adapter(suite), "wrap", None)
    return wrap(env) if wrap is not None else env


def as_trained(env: gym.Env) -> gym.Env:
    """``env`` as autoreward trains it: its suite's observation wrapper applied, unless it already is (a user's
    ``gymnasium.make`` env gets it, an env autoreward made keeps its own)."""
    env_id = env.spec.id if env.spec is not None else ""
    suite = suite_for(env_id)
    inner: Any = env
    for _ in range(64):  # the wrapper chain, outermost first
        if inner is None or suite is None:
            break
        if type(inner).__module__ == suite.adapter:
            return env
        inner = getattr(inner, "env", None)
    return adapt(suite, env)


def suite_state_spec(suite: Suite | None, env: gym.Env) -> StateSpec | None:
    """The suite's own State builder's spec, or None where the generic builder serves."""
    build = getattr(_adapter(suite), "state_spec", None)
    return build(env) if build is not None else None


def hide_entries(spec: StateSpec, hidden: tuple[str, ...], obs_doc: str = "") -> StateSpec:
    """``spec`` with the mapping fields' listed names narrowed to those containing none of ``hidden`` (parts no
    reward reads: cameras, sensor frames, the robot's pedestal), so the description stays about the task. The
    hidden entries still answer when read; ``obs_doc`` (if given) says what ``State.obs`` is."""
    for name, field in spec.fields.items():
        if field.keys:
            keys = tuple(k for k in field.keys if not any(h in k for h in hidden))
            spec.fields[name] = dataclasses.replace(field, keys=keys)
    if obs_doc:
        spec.fields["obs"] = dataclasses.replace(spec.fields["obs"], doc=obs_doc)
    return spec


def demonstrator(env: gym.Env) -> tuple[Callable[[gym.Env], list[int] | None], Callable[[gym.Env], dict]] | None:
    """The suite's ``(demonstration, milestone)`` pair where it can search for a solving path (the symbolic
    worlds with deterministic dynamics), else None."""
    env_id = env.spec.id if env.spec is not None else ""
    adapter = _adapter(suite_for(env_id))
    solve, milestone = getattr(adapter, "demonstration", None), getattr(adapter, "milestone", None)
    return (solve, milestone) if solve is not None and milestone is not None else None


def action_names(env: gym.Env) -> list[str]:
    """Names of the action vector's entries (or of a discrete space's actions), where the env's suite knows them."""
    env_id = env.spec.id if env.spec is not None else ""
    names = getattr(_adapter(suite_for(env_id)), "action_names", None)
    return names(env) if names is not None else []
