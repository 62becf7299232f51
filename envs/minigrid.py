"""MiniGrid as autoreward trains it: a symbolic observation for an MLP policy, and a State from the grid itself.

The policy sees what MiniGrid's agent sees, symbolically, not as pixels: each of the 7x7 cells in front of it as
one-hot object type, colour and door state, plus its direction one-hot. The State reads the env's own objects
(``agent_pos``, ``agent_dir``, ``carrying``, ``grid``): positions, what is in front, what is carried, counts of
what is in view, distances to the nearest key, door, goal... (straight and along the way the agent can walk),
doors opened. Success is MiniGrid's own: an episode succeeds when the env ends it with a positive reward (the
mission done), reported as ``info["success"]`` for the ``success_rate`` fitness.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Hashable, Mapping
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from minigrid.core.constants import COLOR_TO_IDX, DIR_TO_VEC, OBJECT_TO_IDX, STATE_TO_IDX

from autoreward.envs.state import Field, NamedValues, Snapshot, StateSpec

TYPES = tuple(OBJECT_TO_IDX)  # unseen, empty, wall, floor, door, key, ball, box, goal, lava, agent
_SEEN = ("empty", "wall", "door", "key", "ball", "box", "goal", "lava")  # what the State counts and names
_CARRIED = ("key", "ball", "box")
# What the State measures distances to; "locked_door" is the nearest door still locked (KeyCorridor's rooms have
# many doors, and the nearest door is rarely the one the key opens).
_TARGETS = ("key", "ball", "box", "door", "locked_door", "goal", "lava")
# What the agent can walk onto (a door counts: the agent opens it on the way, with the key where it is locked).
_WALKABLE = ("empty", "floor", "goal", "door")
_CELL = len(OBJECT_TO_IDX) + len(COLOR_TO_IDX) + len(STATE_TO_IDX)
_DIRECTIONS = "0 right (+x), 1 down (+y), 2 left (-x), 3 up (-y)"


class SymbolicObservation(gym.Wrapper):
    """``obs`` = one-hot (object type, colour, door state) of each cell of the agent's view, row by row, then the
    direction one-hot; and ``info["success"]`` = 1.0 when the env ends the episode with a positive reward."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        width, height, _ = env.observation_space["image"].shape
        self.cells = width * height
        self.observation_space = gym.spaces.Box(0.0, 1.0, (self.cells * _CELL + 4,), np.float32)
        self._object = np.eye(len(OBJECT_TO_IDX), dtype=np.float32)
        self._colour = np.eye(len(COLOR_TO_IDX), dtype=np.float32)
        self._state = np.eye(len(STATE_TO_IDX), dtype=np.float32)
        self._direction = np.eye(4, dtype=np.float32)

    def observation(self, obs: Mapping[str, Any]) -> np.ndarray:
        image = np.asarray(obs["image"]).transpose(1, 0, 2).reshape(-1, 3)  # rows of the view, farthest first
        cells = np.concatenate([self._object[image[:, 0]], self._colour[image[:, 1]], self._state[image[:, 2]]], axis=1)
        return np.concatenate([cells.ravel(), self._direction[int(obs["direction"])]])

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        obs, info = self.env.reset(seed=seed, options=options)
        return self.observation(obs), info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        info["success"] = float(bool(terminated) and float(reward) > 0)
        return self.observation(obs), reward, terminated, truncated, info


def wrap(env: gym.Env) -> gym.Env:
    return SymbolicObservation(env)


def action_names(env: gym.Env) -> list[str]:
    return [action.name for action in env.unwrapped.actions]


SEARCH_LIMIT = 20_000  # states a demonstration's search may visit before it gives up


def demonstration(env: gym.Env, limit: int = SEARCH_LIMIT) -> list[int] | None:
    """The shortest action sequence that solves the episode ``env`` is in (MiniGrid's dynamics are
    deterministic), by breadth-first search over copies of the env, with no drop where a path needs none; None
    when ``limit`` states do not reach it.
    The Critic scores programs along it: a reward that pays less for solving than for waiting is wrong."""
    core = env.unwrapped
    # Without dropping first: a drop can leave the object on any cell, which multiplies the states to search.
    for allowed in (("done", "drop"), ("done",)):
        path = _search(core, [a for a in core.actions if a.name not in allowed], limit)
        if path is not None:
            return path
    return None


def _search(core: Any, useful: list[Any], limit: int) -> list[int] | None:
    frontier: deque[tuple[Any, list[int]]] = deque([(copy.deepcopy(core), [])])
    seen = {_situation(core)}
    while frontier and len(seen) < limit:
        node, path = frontier.popleft()
        for action in useful:
            child = copy.deepcopy(node)
            _, reward, terminated, truncated, _ = child.step(action)
            if terminated and float(reward) > 0:
                return [*path, int(action)]
            situation = _situation(child)
            if terminated or truncated or situation in seen:
                continue
            seen.add(situation)
            frontier.append((child, [*path, int(action)]))
    return None


def _situation(core: Any) -> Hashable:
    carried = (core.carrying.type, core.carrying.color) if core.carrying is not None else None
    return (tuple(core.agent_pos), int(core.agent_dir), carried, core.grid.encode().tobytes())


def milestone(env: gym.Env) -> dict[str, float]:
    """What a demonstration's stages are split by: the carried object and the doors' states (the State's own
    ``carrying`` and ``doors_open``/``doors_locked``)."""
    core = env.unwrapped
    objects = _grid_objects(core.grid)
    carried = {f'carrying["{kind}"]': 0.0 for kind in _CARRIED}
    if core.carrying is not None and core.carrying.type in _CARRIED:
        carried[f'carrying["{core.carrying.type}"]'] = 1.0
    return {
        **carried,
        "doors_open": _doors(objects, 0),
        "doors_locked": _doors(objects, 1),
    }


def _grid_objects(grid: Any) -> list[tuple[str, int, int, bool, bool]]:
    """(type, x, y, is_open, is_locked) of every object on the grid except walls and floor."""
    out = []
    width = grid.width
    for index, obj in enumerate(grid.grid):
        if obj is None or obj.type in ("wall", "floor"):
            continue
        y, x = divmod(index, width)
        out.append((obj.type, x, y, bool(getattr(obj, "is_open", False)), bool(getattr(obj, "is_locked", False))))
    return out


def _doors(objects: list[tuple[str, int, int, bool, bool]], which: int) -> float:
    """Doors open (``which`` 0) or locked (1) among ``_grid_objects``: the State's fields and the milestones."""
    return float(sum(1 for kind, *_, is_open, is_locked in objects if kind == "door" and (is_open, is_locked)[which]))


def _targets_of(kind: str, is_locked: bool) -> tuple[int, ...]:
    """Where an object counts in ``_TARGETS``: its own type, and a locked door as "locked_door" too."""
    names = (kind, "locked_door") if kind == "door" and is_locked else (kind,)
    return tuple(_TARGETS.index(name) for name in names if name in _TARGETS)


def _distances(s: Snapshot) -> np.ndarray:
    """Manhattan distance from the agent to the nearest object of each ``_TARGETS`` type; -1 where none."""
    ax, ay = s["agent_pos"]
    best = np.full(len(_TARGETS), -1.0)
    for kind, x, y, _, is_locked in s["objects"]:
        d = abs(x - ax) + abs(y - ay)
        for i in _targets_of(kind, is_locked):
            if best[i] < 0 or d < best[i]:
                best[i] = d
    best.flags.writeable = False
    return best


def _paths(core: Any) -> np.ndarray:
    """Fewest forward moves from the agent to the nearest object of each ``_TARGETS`` type, walking only over
    ``_WALKABLE`` cells (the target's own cell is the last move); -1 where none is reachable.
    Breadth-first from the agent, so the first time a type is met is its nearest."""
    grid = core.grid
    start = (int(core.agent_pos[0]), int(core.agent_pos[1]))
    best = np.full(len(_TARGETS), -1.0)

    def meet(cell: Any, moves: int) -> None:
        if cell is None:
            return
        for i in _targets_of(cell.type, bool(getattr(cell, "is_locked", False))):
            if best[i] < 0:
                best[i] = moves

    meet(grid.get(*start), 0)
    moves = {start: 0}
    frontier = deque([start])
    while frontier:
        x, y = frontier.popleft()
        for dx, dy in DIR_TO_VEC:
            nxt = (int(x + dx), int(y + dy))
            if nxt in moves or not (0 <= nxt[0] < grid.width and 0 <= nxt[1] < grid.height):
                continue
            moves[nxt] = moves[(x, y)] + 1
            cell = grid.get(*nxt)
            meet(cell, moves[nxt])
            if cell is None or cell.type in _WALKABLE:
                frontier.append(nxt)
    best.flags.writeable = False
    return best


def _visible(s: Snapshot, cells: int) -> np.ndarray:
    """Cells of each type in view, read from the one-hot observation (the env's own view of the grid)."""
    counts = s["obs"][: cells * _CELL].reshape(cells, _CELL)[:, : len(OBJECT_TO_IDX)].sum(axis=0)
    return counts[[OBJECT_TO_IDX[t] for t in _SEEN]]


def state_spec(env: gym.Env) -> StateSpec:
    """The State of a MiniGrid env (made through ``wrap``), read from the env's own grid and agent."""
    core = env.unwrapped
    cells = env.observation_space.shape[0] // _CELL if isinstance(env, SymbolicObservation) else 49
    seen = {t: i for i, t in enumerate(_SEEN)}
    carried = {t: i for i, t in enumerate(_CARRIED)}
    targets = {t: i for i, t in enumerate(_TARGETS)}

    def front() -> str:
        dx, dy = DIR_TO_VEC[core.agent_dir]
        cell = core.grid.get(int(core.agent_pos[0]) + dx, int(core.agent_pos[1]) + dy) if core.grid else None
        return cell.type if cell is not None else "empty"

    # One part per piece of the game, so a State narrowed to a program's fields skips walking the grid.
    parts = {
        "agent_pos": lambda: (int(core.agent_pos[0]), int(core.agent_pos[1])),
        "agent_dir": lambda: int(core.agent_dir),
        "front": front,
        "carrying": lambda: core.carrying.type if core.carrying is not None else None,
        "objects": lambda: _grid_objects(core.grid),
        "paths": lambda: _paths(core),
        "step_count": lambda: int(core.step_count),
    }

    def one_hot(index: dict[str, int], name: str | None) -> np.ndarray:
        out = np.zeros(len(index))
        if name in index:
            out[index[name]] = 1.0
        out.flags.writeable = False
        return out

    fields = [
        Field("obs", "0/1", f"the policy's symbolic observation (not pixels): for each of the {cells} cells of the "
              f"agent's view, row by row from the farthest, one-hot object type ({', '.join(TYPES)}), colour "
              f"({', '.join(COLOR_TO_IDX)}) and door state ({', '.join(STATE_TO_IDX)}), {_CELL} entries a cell; "
              "then the direction one-hot (4)", lambda s: s["obs"]),
        Field("agent_x", "cells", "agent column (x grows to the right)", lambda s: float(s["agent_pos"][0]),
              needs=("agent_pos",)),
        Field("agent_y", "cells", "agent row (y grows downwards)", lambda s: float(s["agent_pos"][1]),
              needs=("agent_pos",)),
        Field("agent_dir", "", f"direction the agent faces: {_DIRECTIONS}", lambda s: float(s["agent_dir"]),
              needs=("agent_dir",)),
        Field("front", "0/1", "1.0 for the type of the cell right in front of the agent (where forward, pickup "
              "and toggle act; empty for nothing)", lambda s: NamedValues("front", seen, one_hot(seen, s["front"])),
              keys=_SEEN, needs=("front",)),
        Field("carrying", "0/1", "1.0 for the type of object the agent carries",
              lambda s: NamedValues("carrying", carried, one_hot(carried, s["carrying"])), keys=_CARRIED,
              needs=("carrying",)),
        Field("visible", "cells", "how many cells of each type the agent sees in its view (a carried object "
              "shows in the agent's own cell)", lambda s: NamedValues("visible", seen, _visible(s, cells)),
              keys=_SEEN),
        Field("distance", "cells", "Manhattan distance from the agent to the nearest object of each type on the "
              "grid; -1 where the grid has none (a carried object is off the grid)",
              lambda s: NamedValues("distance", targets, _distances(s)), keys=_TARGETS,
              needs=("agent_pos", "objects")),
        Field("path", "moves", "fewest forward moves from the agent to the nearest object of each type, walking "
              "around walls, lava and objects (through doors); -1 where none is reachable. Unlike `distance`, it "
              "shrinks only on the way that really leads there", lambda s: NamedValues("path", targets, s["paths"]),
              keys=_TARGETS, needs=("paths",)),
        Field("doors_open", "", "number of open doors", lambda s: _doors(s["objects"], 0), needs=("objects",)),
        Field("doors_locked", "", "number of locked doors", lambda s: _doors(s["objects"], 1), needs=("objects",)),
        Field("step_count", "steps", f"steps taken this episode (MiniGrid ends it at {core.max_steps})",
              lambda s: float(s["step_count"]), needs=("step_count",)),
    ]  # fmt: skip
    return StateSpec(fields, parts=parts)
