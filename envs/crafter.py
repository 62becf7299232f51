"""Crafter (the open-world, Minecraft-like benchmark) as a gymnasium env with a symbolic observation and State.

Crafter speaks the old gym API, draws a 64x64 image every step and has no ``action_space.sample()``. This
adapter registers ``Crafter-v1`` for gymnasium: ``Discrete(17)`` actions, and instead of pixels a symbolic
observation of what the player's own image shows (the 9x7 cells around the player as one-hot material and
creature, the inventory, the facing direction, sleep and daylight). The image is still drawn for video
(``render_mode="rgb_array"``). The State reads the game itself: position, vitals, inventory, achievements
unlocked this episode, and per material or creature how many are in view, how far the nearest is and whether
it is right in front (where ``do`` acts). A task's fitness is an achievement unlocked during the episode.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar, SupportsFloat

import crafter
import gymnasium as gym
import numpy as np
import opensimplex
from crafter import constants

from autoreward.envs.state import Field, NamedValues, StateSpec, sealed

MATERIALS: tuple[str, ...] = tuple(constants.materials)  # water, grass, stone, path, sand, tree, lava, ...
CREATURES: tuple[str, ...] = ("cow", "zombie", "skeleton", "arrow", "plant")
THINGS: tuple[str, ...] = MATERIALS + CREATURES
VITALS: tuple[str, ...] = ("health", "food", "drink", "energy")
ITEMS: tuple[str, ...] = tuple(name for name in constants.items if name not in VITALS)
ACHIEVEMENTS: tuple[str, ...] = tuple(constants.achievements)
VIEW = (9, 7)  # the cells around the player that Crafter's own image shows (columns, rows)
_CELL = len(MATERIALS) + 1 + len(CREATURES) + 1  # one-hot material (or outside the world), creature (or none)
_FACING = ((-1, 0), (1, 0), (0, -1), (0, 1))


@functools.cache
def _compile_world_noise() -> None:
    """Crafter draws each world from opensimplex noise, one Python call per cell: ~1.8 s a reset in pure Python,
    ~0.06 s once numba (in the ``crafter`` extra) has compiled it. Compile when the first env is made, so that
    the sandbox's warm-up (before its system-call filter) pays the few seconds, not the first episode."""
    opensimplex.OpenSimplex(seed=0).noise3(0.0, 0.0, 0.0)


class _Game(crafter.Env):
    """Crafter without the per-step image and semantic map, which a symbolic agent never reads (they cost
    about 60% of a step); ``render()`` still draws the image."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._sem_view = _no_semantic_map

    def _obs(self) -> None:
        return None


def _no_semantic_map() -> None:
    return None


class CrafterEnv(gym.Env):
    """Crafter for gymnasium; ``obs`` is symbolic (see the module docstring); ``info["achievements"]`` holds
    the episode's achievement counts. Dying terminates; Crafter's own length limit truncates."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, area: int = 64, length: int = 10000, render_mode: str | None = None, size: int = 256) -> None:
        _compile_world_noise()
        self.render_mode = render_mode
        self._game = _Game(area=(area, area), size=(size, size), length=length, seed=0)
        self.action_space = gym.spaces.Discrete(len(constants.actions))
        cells = VIEW[0] * VIEW[1]
        self.observation_space = gym.spaces.Box(0.0, 1.0, (cells * _CELL + len(constants.items) + 4 + 2,), np.float32)
        self.action_names = list(constants.actions)
        self.window = np.zeros((2, *VIEW), dtype=np.int64)
        self._creature_ids = {name: i + 1 for i, name in enumerate(CREATURES)}
        self._material = np.eye(len(MATERIALS) + 1, dtype=np.float32)
        self._creature = np.eye(len(CREATURES) + 1, dtype=np.float32)

    @property
    def world(self) -> Any:
        return self._game._world

    @property
    def player(self) -> Any:
        return self._game._player

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        if seed is not None:  # Crafter draws episode e's world from (seed, e)
            self._game._seed = int(seed)
            self._game._episode = 0
        self._game.reset()
        return self._observe(), {"achievements": dict(self.player.achievements)}

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        _, reward, done, info = self._game.step(int(action))
        dead = info["discount"] == 0.0
        return self._observe(), float(reward), dead, bool(done and not dead), {"achievements": info["achievements"]}

    def render(self) -> np.ndarray:
        return self._game.render()

    def _observe(self) -> np.ndarray:
        """Update ``window`` (material ids, creature ids around the player) and build the observation."""
        world, player = self.world, self.player
        half = np.array(VIEW) // 2
        low = np.asarray(player.pos) - half
        mats = np.zeros(VIEW, dtype=np.int64)
        crits = np.zeros(VIEW, dtype=np.int64)
        xs = slice(max(low[0], 0), min(low[0] + VIEW[0], world.area[0]))
        ys = slice(max(low[1], 0), min(low[1] + VIEW[1], world.area[1]))
        inner = (slice(xs.start - low[0], xs.stop - low[0]), slice(ys.start - low[1], ys.stop - low[1]))
        mats[inner] = world._mat_map[xs, ys]
        objects = world._obj_map[xs, ys]
        for cx, cy in zip(*np.nonzero(objects), strict=True):
            kind = type(world._objects[objects[cx, cy]]).__name__.lower()
            crits[inner[0].start + cx, inner[1].start + cy] = self._creature_ids.get(kind, 0)
        self.window = np.stack([mats, crits])
        cells = np.concatenate([self._material[mats.T.ravel()], self._creature[crits.T.ravel()]], axis=1)
        inventory = np.array([player.inventory[name] for name in constants.items], dtype=np.float32) / 9.0
        facing = np.array([tuple(player.facing) == f for f in _FACING], dtype=np.float32)
        extra = np.array([float(player.sleeping), float(world.daylight)], dtype=np.float32)
        return np.concatenate([cells.ravel(), inventory, facing, extra])


gym.register("Crafter-v1", entry_point=CrafterEnv, max_episode_steps=10000)


def action_names(env: gym.Env) -> list[str]:
    return list(env.unwrapped.action_names)


def _window_counts(window: np.ndarray) -> np.ndarray:
    mats, crits = window
    counts = np.concatenate([np.bincount(mats.ravel(), minlength=len(MATERIALS) + 1)[1:],
                             np.bincount(crits.ravel(), minlength=len(CREATURES) + 1)[1:]])  # fmt: skip
    return counts.astype(np.float64)


def _nearest(window: np.ndarray) -> np.ndarray:
    """Manhattan distance from the player to the nearest cell of each thing in view; -1 where none is."""
    mats, crits = window
    cx, cy = np.array(VIEW) // 2
    xs, ys = np.indices(VIEW)
    dist = np.abs(xs - cx) + np.abs(ys - cy)
    out = np.full(len(THINGS), -1.0)
    for i in range(len(MATERIALS)):
        hit = dist[mats == i + 1]
        if hit.size:
            out[i] = hit.min()
    for j in range(len(CREATURES)):
        hit = dist[crits == j + 1]
        if hit.size:
            out[len(MATERIALS) + j] = hit.min()
    return out


def _front(window: np.ndarray, facing: tuple[int, int]) -> np.ndarray:
    mats, crits = window
    cx, cy = np.array(VIEW) // 2
    x, y = cx + facing[0], cy + facing[1]
    out = np.zeros(len(THINGS))
    if mats[x, y]:
        out[mats[x, y] - 1] = 1.0
    if crits[x, y]:
        out[len(MATERIALS) + crits[x, y] - 1] = 1.0
    return out


def state_spec(env: gym.Env) -> StateSpec:
    """The State of ``Crafter-v1``, read from the game: the player, its inventory and the cells around it."""
    core: CrafterEnv = env.unwrapped
    things = {name: i for i, name in enumerate(THINGS)}
    items = {name: i for i, name in enumerate(ITEMS)}
    achievements = {name: i for i, name in enumerate(ACHIEVEMENTS)}
    view = f"{VIEW[0]}x{VIEW[1]} cells around the player"

    # One part per piece of the game, so a State narrowed to a program's fields copies only what it reads.
    parts = {
        "pos": lambda: tuple(int(v) for v in core.player.pos),
        "facing": lambda: tuple(int(v) for v in core.player.facing),
        "vitals": lambda: tuple(float(core.player.inventory[name]) for name in VITALS),
        "inventory": lambda: sealed(np.array([core.player.inventory[name] for name in ITEMS], dtype=np.float64)),
        "achievements": lambda: sealed(np.array([core.player.achievements[n] for n in ACHIEVEMENTS], dtype=np.float64)),
        "sleeping": lambda: float(core.player.sleeping),
        "daylight": lambda: float(core.world.daylight),
        "window": lambda: sealed(core.window),
    }

    def vital(i: int) -> Any:
        return lambda s: s["vitals"][i]

    vitals = ("vitals",)

    fields = [
        Field("obs", "0..1", f"the policy's symbolic observation (not pixels): for each of the {view}, column "
              f"within row, one-hot material (outside the world, {', '.join(MATERIALS)}) and creature (none, "
              f"{', '.join(CREATURES)}), {_CELL} entries a cell; then the inventory / 9 "
              f"({', '.join(constants.items)}), facing one-hot (left, right, up, down), sleeping, daylight",
              lambda s: s["obs"]),
        Field("player_x", "cells", "player column in the 64x64 world", lambda s: float(s["pos"][0]),
              needs=("pos",)),
        Field("player_y", "cells", "player row in the 64x64 world", lambda s: float(s["pos"][1]),
              needs=("pos",)),
        Field("facing", "cells", "direction the player faces (dx, dy): (-1,0) left, (1,0) right, (0,-1) up, "
              "(0,1) down", lambda s: sealed(np.array(s["facing"], dtype=np.float64)), shape=(2,),
              needs=("facing",)),
        Field("health", "0..9", "health; the episode ends when it reaches 0 (lava kills at once)", vital(0),
              needs=vitals),
        Field("food", "0..9", "food; falls over time, eat a cow or a plant", vital(1), needs=vitals),
        Field("drink", "0..9", "drink; falls over time, drink water", vital(2), needs=vitals),
        Field("energy", "0..9", "energy; falls over time, sleep to restore", vital(3), needs=vitals),
        Field("sleeping", "0/1", "1.0 while the player sleeps", lambda s: s["sleeping"],
              needs=("sleeping",)),
        Field("daylight", "0..1", "daylight (zombies appear more in the dark)", lambda s: s["daylight"],
              needs=("daylight",)),
        Field("inventory", "count", "items held", lambda s: NamedValues("inventory", items, s["inventory"]),
              keys=ITEMS, needs=("inventory",)),
        Field("achievements", "count", "how often each achievement was unlocked this episode",
              lambda s: NamedValues("achievements", achievements, s["achievements"]), keys=ACHIEVEMENTS,
              needs=("achievements",)),
        Field("nearby", "cells", f"how many of each material or creature are in the {view}",
              lambda s: NamedValues("nearby", things, sealed(_window_counts(s["window"]))), keys=THINGS,
              needs=("window",)),
        Field("nearest", "cells", f"Manhattan distance to the nearest of each material or creature in the {view}; "
              "-1 where none is in view", lambda s: NamedValues("nearest", things, sealed(_nearest(s["window"]))),
              keys=THINGS, needs=("window",)),
        Field("front", "0/1", "1.0 for the material and the creature in the cell the player faces (where `do` "
              "collects, attacks or drinks and `place_*` puts things)",
              lambda s: NamedValues("front", things, sealed(_front(s["window"], s["facing"]))), keys=THINGS,
              needs=("window", "facing")),
    ]  # fmt: skip
    return StateSpec(fields, parts=parts)
