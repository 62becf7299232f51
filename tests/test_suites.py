"""The optional task suites against their simulators: every State field equals what the env itself holds, success
fitness reads the env's own outcome, a missing suite names its extra, and one short run per family end to end."""

from __future__ import annotations

import collections
import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import networkx as nx
import numpy as np
import pytest
from llm_server import ScriptedLLMServer, answer
from suite_marks import needs_task, task_params, unavailable

from autoreward.describe import describe
from autoreward.envs.fitness import EpisodeFitness
from autoreward.envs.make import card_state_spec, make_card_env, make_env, state_spec
from autoreward.envs.suites import SUITES, suite_for
from autoreward.errors import TaskError
from autoreward.export import standalone_source
from autoreward.store import RunStore
from autoreward.tasks import catalog
from autoreward.training.hyperparams import settings_for

FAMILIES = ("metaworld", "fetch", "minigrid", "crafter", "maniskill")
SUITE_TASKS = {f: [n for n, c in catalog().items() if c.family == f] for f in FAMILIES}
CLI = str(Path(sys.executable).parent / "autoreward")


def test_catalog_lists_every_suite() -> None:
    assert len(SUITE_TASKS["metaworld"]) >= 8 and len(SUITE_TASKS["fetch"]) == 4
    assert len(SUITE_TASKS["minigrid"]) >= 3 and len(SUITE_TASKS["crafter"]) >= 4 and SUITE_TASKS["maniskill"]
    for _family, tasks in SUITE_TASKS.items():
        for task in tasks:
            card = catalog()[task]
            assert suite_for(card.env_id) is not None, task
            assert card.fitness is not None and card.success_threshold == 1.0, task
    listed = subprocess.run([CLI, "tasks", "--json"], capture_output=True, text=True, check=True).stdout
    names = {row["name"] for row in json.loads(listed)}
    assert {t for tasks in SUITE_TASKS.values() for t in tasks} <= names


def _random_states(env: gym.Env, steps: int, seed: int = 0):
    """(state, obs) after each random step; episodes reset at their ends."""
    spec = state_spec(env)
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    for _ in range(steps):
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        yield spec.snapshot(obs), obs
        if terminated or truncated:
            obs, _ = env.reset()


def _check_mujoco_names(env: gym.Env, state) -> None:
    """The automatic MuJoCo fields (joints, bodies, sites) against the simulator's data."""
    model, data = env.unwrapped.model, env.unwrapped.data
    for name in state.joint_angle:
        joint = model.joint(name)
        assert state.joint_angle[name] == data.qpos[joint.qposadr[0]]
        assert state.joint_velocity[name] == data.qvel[joint.dofadr[0]]
    for body, name in enumerate(state.body_pos, start=1):  # unnamed bodies read as body_<id> or their geom
        np.testing.assert_array_equal(state.body_pos[name], data.xpos[body])
    for name in state.site_pos:
        np.testing.assert_array_equal(state.site_pos[name], data.site_xpos[model.site(name).id])


# --- MetaWorld ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", task_params(SUITE_TASKS["metaworld"]))
def test_metaworld_state_matches_simulator(task: str) -> None:
    env = make_card_env(catalog()[task])
    core = env.unwrapped
    prev = None
    try:
        for t, (state, obs) in enumerate(_random_states(env, 40)):
            np.testing.assert_array_equal(state.obs, obs)
            np.testing.assert_allclose(state.hand_pos, core.data.body("hand").xpos, atol=1e-12)
            np.testing.assert_allclose(state.obj_pos, core._get_pos_objects()[:3], atol=1e-12)
            np.testing.assert_allclose(state.goal_pos, core._target_pos, atol=1e-12)
            fingers = np.linalg.norm(core.data.body("rightclaw").xpos - core.data.body("leftclaw").xpos)
            assert state.gripper_opening == pytest.approx(np.clip(fingers / 0.1, 0.0, 1.0))
            assert state.obj_goal_distance == pytest.approx(np.linalg.norm(state.obj_pos - core._target_pos))
            if prev is not None and t % 39:  # obs[18:21] is the hand one step earlier (not across a reset)
                np.testing.assert_array_equal(state.obs[18:21], prev.hand_pos)
            if t % 10 == 0:
                _check_mujoco_names(env, state)
            prev = state
    finally:
        env.close()


@needs_task("metaworld-reach")
def test_metaworld_success_is_the_envs_own_flag() -> None:
    """A proportional controller reaches the goal: MetaWorld says success and the fitness is 1; random is 0."""
    card = catalog()["metaworld-reach"]
    env = make_card_env(card)
    spec = card_state_spec(card, env)
    try:
        results = []
        for controlled in (True, False):
            fitness = EpisodeFitness(card.require_fitness())
            obs, info = env.reset(seed=3)
            prev = spec.snapshot(obs)
            fitness.reset(prev, info)
            flags = []
            for _ in range(150):
                action = env.action_space.sample()
                if controlled:
                    action = np.append(np.clip(10 * (prev.goal_pos - prev.hand_pos), -1, 1), 0.0)
                obs, reward, _terminated, _truncated, info = env.step(action)
                state = spec.snapshot(obs)
                fitness.step(prev, action, state, reward, info)
                flags.append(info["success"])
                prev = state
            assert fitness.result() == max(flags)
            results.append(fitness.result())
        assert results == [1.0, 0.0]
    finally:
        env.close()


# --- Fetch ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", task_params(SUITE_TASKS["fetch"]))
def test_fetch_state_matches_simulator(task: str) -> None:
    env = make_card_env(catalog()[task])
    core = env.unwrapped
    model, data = core.model, core.data
    try:
        for t, (state, obs) in enumerate(_random_states(env, 60)):
            raw = core._get_obs()
            flat = gym.spaces.flatten(env.env.observation_space, raw)
            np.testing.assert_allclose(state.obs, flat, atol=1e-12)  # State.obs is the dict flattened
            np.testing.assert_allclose(state.obs, obs, atol=1e-12)  # ... exactly as the policy sees it
            np.testing.assert_allclose(state.goal_pos, core.goal, atol=1e-12)
            np.testing.assert_allclose(state.grip_pos, data.site_xpos[model.site("robot0:grip").id], atol=1e-12)
            if "object_pos" in dir(state):
                object_pos = data.site_xpos[model.site("object0").id]
                np.testing.assert_allclose(state.object_pos, object_pos, atol=1e-12)
                assert state.object_goal_distance == pytest.approx(np.linalg.norm(object_pos - core.goal))
            if t % 20 == 0:
                _check_mujoco_names(env, state)
    finally:
        env.close()


@needs_task("fetch-reach")
def test_fetch_reach_success_fitness_and_export_replays_reward(tmp_path: Path) -> None:
    """Driving the grip to the goal makes gymnasium-robotics report is_success; the exported reward, given the
    env's raw dict observation, computes the same rewards as training's."""
    card = catalog()["fetch-reach"]
    program = (
        "import numpy as np\n\n\ndef compute_reward(prev, action, state):\n"
        "    components = {'near': -float(state.grip_goal_distance), 'still': -0.1 * float(np.sum(action ** 2))}\n"
        "    return float(sum(components.values())), components\n"
    )
    namespace: dict = {}
    exec(program, namespace)
    env = make_card_env(card)
    spec = card_state_spec(card, env)
    fitness = EpisodeFitness(card.require_fitness())
    obs, info = env.reset(seed=5)
    prev = spec.snapshot(obs)
    fitness.reset(prev, info)
    actions, rewards = [], []
    for _ in range(50):
        action = np.append(np.clip(20 * (prev.goal_pos - prev.grip_pos), -1, 1), 0.0).astype(np.float32)
        obs, reward, _terminated, _truncated, info = env.step(action)
        state = spec.snapshot(obs)
        fitness.step(prev, action, state, reward, info)
        rewards.append(namespace["compute_reward"](prev, action, state)[0])
        actions.append(action)
        prev = state
    env.close()
    assert fitness.result() == 1.0

    exported = tmp_path / "fetch_reach_reward.py"
    exported.write_text(standalone_source(program, task=card.name, env_id=card.env_id, run_id="t", fitness=1.0))
    script = (
        f"import sys, json, gymnasium, gymnasium_robotics, numpy as np\nsys.path.insert(0, {str(tmp_path)!r})\n"
        "from fetch_reach_reward import RewardWrapper\n"
        "env = RewardWrapper(gymnasium.make('FetchReach-v4'))\nenv.reset(seed=5)\n"
        f"actions = np.array({np.array(actions).tolist()}, dtype=np.float32)\n"
        "print(json.dumps([float(env.step(a)[1]) for a in actions]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == pytest.approx(rewards, abs=1e-9)


# --- MiniGrid -------------------------------------------------------------------------------------------------


def _minigrid_truth(core) -> dict:
    """What the State should say, computed independently from the env's grid and agent."""
    ax, ay = (int(v) for v in core.agent_pos)
    nearest: dict[str, float] = {}
    doors = [0, 0]
    for y in range(core.grid.height):
        for x in range(core.grid.width):
            obj = core.grid.get(x, y)
            if obj is None:
                continue
            if obj.type == "door":
                doors[0] += obj.is_open
                doors[1] += obj.is_locked
            d = abs(x - ax) + abs(y - ay)
            nearest[obj.type] = min(nearest.get(obj.type, math.inf), d)
            if obj.type == "door" and obj.is_locked:
                nearest["locked_door"] = min(nearest.get("locked_door", math.inf), d)
    front = core.grid.get(*core.front_pos)
    image = core.gen_obs()["image"]
    from minigrid.core.constants import IDX_TO_OBJECT

    seen = collections.Counter(IDX_TO_OBJECT[int(i)] for i in image[:, :, 0].ravel())
    return {"pos": (ax, ay), "front": front.type if front else "empty", "nearest": nearest, "doors": doors,
            "seen": seen, "carrying": core.carrying.type if core.carrying else None}  # fmt: skip


def _walks(core) -> dict[str, float]:
    """Fewest moves to the nearest object of each type, by networkx over the cells the agent can stand on."""
    grid = nx.grid_2d_graph(core.grid.width, core.grid.height)
    blocked = [
        c for c in grid if (o := core.grid.get(*c)) is not None and o.type in ("wall", "lava", "key", "ball", "box")
    ]
    start = tuple(int(v) for v in core.agent_pos)
    walk = grid.subgraph([c for c in grid if c not in blocked or c == start])
    moves = nx.single_source_shortest_path_length(walk, start)
    out: dict[str, float] = {}
    for cell in grid:
        obj = core.grid.get(*cell)
        if obj is None:
            continue
        # A blocked cell is entered only as the last move, from a cell the agent walks to (or stood on: lava).
        d = (
            moves.get(cell)
            if cell not in blocked or cell == start
            else min((moves[n] + 1 for n in grid[cell] if n in moves), default=None)
        )
        if d is None:
            continue
        for kind in (obj.type, "locked_door") if obj.type == "door" and obj.is_locked else (obj.type,):
            out[kind] = min(out.get(kind, math.inf), d)
    return out


@pytest.mark.parametrize("task", task_params(SUITE_TASKS["minigrid"]))
def test_minigrid_state_matches_the_grid(task: str) -> None:
    env = make_card_env(catalog()[task])
    core = env.unwrapped
    carried = False
    try:
        for state, _ in _random_states(env, 300):
            truth = _minigrid_truth(core)
            assert (state.agent_x, state.agent_y) == truth["pos"]
            assert state.agent_dir == core.agent_dir
            assert [k for k, v in state.front.items() if v] == [truth["front"]]
            assert [k for k, v in state.carrying.items() if v] == ([truth["carrying"]] if truth["carrying"] else [])
            carried |= truth["carrying"] is not None
            for kind in state.distance:
                assert state.distance[kind] == truth["nearest"].get(kind, -1.0), kind
            walks = _walks(core)
            for kind in state.path:
                assert state.path[kind] == walks.get(kind, -1.0), kind
                assert state.path[kind] == -1 or state.path[kind] >= state.distance[kind], kind
            assert [state.doors_open, state.doors_locked] == truth["doors"]
            for kind in state.visible:
                assert state.visible[kind] == truth["seen"].get(kind, 0), kind
            assert state.step_count == core.step_count
    finally:
        env.close()
    if task == "minigrid-doorkey-5x5":
        assert carried, "random play picks the key up within 300 steps of DoorKey-5x5"


@pytest.mark.parametrize("task", task_params(SUITE_TASKS["minigrid"]))
def test_minigrid_search_finds_a_shortest_solving_path(task: str) -> None:
    """The Critic's demonstrations: replayed in the real env, the path the search returns succeeds, and no
    shorter one exists (breadth-first); a search cut off before it finds one says so instead of guessing."""
    from autoreward.envs.minigrid import demonstration

    env = make_card_env(catalog()[task])
    try:
        env.reset(seed=100)
        path = demonstration(env)
        assert path is not None and len(path) >= 2
        assert demonstration(env, limit=2) is None
        for action in path[:-1]:
            _, _, terminated, truncated, _ = env.step(action)
            assert not (terminated or truncated)
        *_, info = env.step(path[-1])
        assert info["success"] == 1.0
        env.reset(seed=100)
        shorter = demonstration(env, limit=10**6)
        assert shorter is not None and len(shorter) == len(path)
    finally:
        env.close()


@needs_task("minigrid-lavagap")
def test_minigrid_success_is_the_mission_done() -> None:
    """Walking a shortest path around the lava reaches the goal: success 1; walking into lava: success 0."""
    card = catalog()["minigrid-lavagap"]
    env = make_card_env(card)
    spec = card_state_spec(card, env)
    core = env.unwrapped
    outcomes = []
    for plan in ("goal", "lava"):
        fitness = EpisodeFitness(card.require_fitness())
        obs, info = env.reset(seed=2)
        prev = spec.snapshot(obs)
        fitness.reset(prev, info)
        done = False
        while not done:
            action = _toward(core, plan)
            obs, reward, terminated, truncated, info = env.step(action)
            state = spec.snapshot(obs)
            fitness.step(prev, action, state, reward, info)
            prev, done = state, terminated or truncated
        outcomes.append(fitness.result())
    env.close()
    assert outcomes == [1.0, 0.0]


def _toward(core, target: str) -> int:
    """The MiniGrid action that follows a shortest path (breadth-first, around walls and other lava) to the
    nearest cell of type ``target``."""
    start = tuple(int(v) for v in core.agent_pos)
    previous = {start: None}
    queue = collections.deque([start])
    goal = None
    while queue:
        cell = queue.popleft()
        obj = core.grid.get(*cell)
        if obj is not None and obj.type == target:
            goal = cell
            break
        for dx, dy in ((1, 0), (0, 1), (-1, 0), (0, -1)):
            nxt = (cell[0] + dx, cell[1] + dy)
            nobj = core.grid.get(*nxt)
            blocked = nobj is not None and nobj.type != target and (nobj.type == "lava" or not nobj.can_overlap())
            if nxt in previous or blocked:
                continue
            previous[nxt] = cell
            queue.append(nxt)
    assert goal is not None
    while previous[goal] != start:
        goal = previous[goal]
    want = (goal[0] - start[0], goal[1] - start[1])
    facing = tuple(int(v) for v in core.dir_vec)
    if facing == want:
        return 2  # forward
    return 1 if (facing[0] * want[1] - facing[1] * want[0]) > 0 else 0  # turn right / left


# --- Crafter --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", task_params(SUITE_TASKS["crafter"]))
def test_crafter_state_matches_the_game(task: str) -> None:
    env = make_card_env(catalog()[task])
    core = env.unwrapped
    try:
        for t, (state, obs) in enumerate(_random_states(env, 200, seed=1)):
            player, world = core.player, core.world
            assert (state.player_x, state.player_y) == tuple(player.pos)
            assert tuple(state.facing) == tuple(player.facing)
            assert [state.health, state.food, state.drink, state.energy] == [
                player.inventory[k] for k in ("health", "food", "drink", "energy")
            ]
            assert dict(state.inventory) == {k: v for k, v in player.inventory.items() if k in state.inventory}
            assert dict(state.achievements) == player.achievements
            front_material, front_object = world[player.pos + np.array(player.facing)]
            assert state.front[front_material] == 1.0
            if front_object is not None and type(front_object).__name__.lower() in state.front:
                assert state.front[type(front_object).__name__.lower()] == 1.0
            if t % 20 == 0:  # counts in view against the world's own material map
                x0, y0 = player.pos[0] - 4, player.pos[1] - 3
                counts = collections.Counter()
                for x in range(x0, x0 + 9):
                    for y in range(y0, y0 + 7):
                        if 0 <= x < world.area[0] and 0 <= y < world.area[1]:
                            counts[world[(x, y)][0]] += 1
                for material in ("grass", "tree", "water", "stone", "sand"):
                    assert state.nearby[material] == counts[material], material
                    assert (state.nearest[material] >= 0) == (counts[material] > 0), material
            np.testing.assert_array_equal(state.obs, obs)
    finally:
        env.close()


@needs_task("crafter-collect-wood")
def test_crafter_fitness_is_the_achievement_unlocked() -> None:
    """Walking to the nearest tree in view and hitting it unlocks collect_wood: the card's fitness turns 1."""
    card = catalog()["crafter-collect-wood"]
    env = make_card_env(card)
    spec = card_state_spec(card, env)
    core = env.unwrapped
    fitness = EpisodeFitness(card.require_fitness())
    obs, info = env.reset(seed=0)
    prev = spec.snapshot(obs)
    fitness.reset(prev, info)
    moves = {(-1, 0): 1, (1, 0): 2, (0, -1): 3, (0, 1): 4}
    for t in range(300):
        trees = np.argwhere(core.window[0] == core.world._mat_ids["tree"])  # the cells in view, player at (4, 3)
        if prev.front["tree"]:
            action = 5  # do: collect from the tree in front
        elif len(trees):
            dx, dy = trees[np.abs(trees - [4, 3]).sum(axis=1).argmin()] - [4, 3]
            action = moves[(int(np.sign(dx)), 0) if dx else (0, int(np.sign(dy)))]  # a blocked move still turns
        else:
            action = (1, 3, 2, 4)[(t // 10) % 4]  # wander until a tree is in view
        obs, reward, terminated, truncated, info = env.step(action)
        state = spec.snapshot(obs)
        fitness.step(prev, action, state, reward, info)
        prev = state
        if terminated or truncated or fitness.result() == 1.0:
            break
    env.close()
    assert fitness.result() == 1.0 and prev.inventory["wood"] >= 1


# --- Missing suites, ManiSkill, export, settings --------------------------------------------------------------


@pytest.mark.parametrize("suite", [s.name for s in SUITES])
def test_a_missing_suite_names_its_extra(suite: str, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = next(s for s in SUITES if s.name == suite)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in entry.packages else real(name))
    env_id = next(c.env_id for c in catalog().values() if suite_for(c.env_id) is entry)
    with pytest.raises(TaskError) as err:
        make_env(env_id)
    message = str(err.value)
    assert "\n" not in message and f"pip install 'autoreward[{suite}]'" in message


def test_cli_says_which_extra_or_requirement_is_missing() -> None:
    done = subprocess.run([CLI, "describe", "maniskill-pick-cube"], capture_output=True, text=True)
    if importlib.util.find_spec("mani_skill") is None:
        assert done.returncode == 2
        assert done.stderr.strip().count("\n") == 0 and "pip install 'autoreward[maniskill]'" in done.stderr
    elif unavailable("maniskill-pick-cube"):
        assert done.returncode == 2 and "NVIDIA GPU" in done.stderr


def test_maniskill_without_a_gpu_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from autoreward.envs.suites import prepare

    entry = next(s for s in SUITES if s.name == "maniskill")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "mani_skill" else real(name))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(TaskError) as err:
        prepare(entry, "ManiSkill/PickCube-v1")
    assert "\n" not in str(err.value) and "NVIDIA GPU" in str(err.value) and "no CUDA GPU" in str(err.value)


class _NestedDictEnv(gym.Env):
    """A stand-in with ManiSkill's state_dict observation shape (nested dicts), for the adapter's own logic."""

    observation_space = gym.spaces.Dict(
        {
            "agent": gym.spaces.Dict({"qpos": gym.spaces.Box(-1, 1, (3,)), "qvel": gym.spaces.Box(-1, 1, (3,))}),
            "extra": gym.spaces.Dict(
                {"tcp_pose": gym.spaces.Box(-1, 1, (7,)), "is_grasped": gym.spaces.Box(0, 1, (1,))}
            ),
        }
    )
    action_space = gym.spaces.Box(-1, 1, (2,))

    def _obs(self):
        return self.observation_space.sample()

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.observation_space.seed(seed)
        return self._obs(), {}

    def step(self, action):
        return self._obs(), 0.0, False, False, {"success": np.array(True)}


def test_maniskill_adapter_names_the_dict_observation() -> None:
    from autoreward.envs.maniskill import state_spec as maniskill_spec
    from autoreward.envs.maniskill import wrap

    env = wrap(_NestedDictEnv())
    spec = maniskill_spec(env)
    assert list(spec.fields) == ["obs", "agent_qpos", "agent_qvel", "is_grasped", "tcp_pose"]
    obs, _ = env.reset(seed=0)
    for _ in range(3):
        obs, _, _, _, info = env.step(env.action_space.sample())
        state = spec.snapshot(obs)
        raw = env.latest
        np.testing.assert_array_equal(state.agent_qpos, raw["agent"]["qpos"])
        np.testing.assert_array_equal(state.tcp_pose, raw["extra"]["tcp_pose"])
        assert state.is_grasped == float(raw["extra"]["is_grasped"][0])
        flat = np.concatenate([raw["agent"]["qpos"], raw["agent"]["qvel"], raw["extra"]["is_grasped"],
                               raw["extra"]["tcp_pose"]])  # fmt: skip
        np.testing.assert_array_equal(state.obs, flat)
        assert info["success"] == 1.0


def test_symbolic_suites_export_a_file_that_imports_their_state_builder() -> None:
    program = "def compute_reward(prev, action, state):\n    return 0.0, {}\n"
    for task in ("minigrid-doorkey-5x5", "crafter-collect-wood"):
        card = catalog()[task]
        text = standalone_source(program, task=task, env_id=card.env_id, run_id="r", fitness=None)
        assert "from autoreward.envs.suites import as_trained, prepare, suite_for" in text
        assert "imported from the installed autoreward package" in text
    card = catalog()["metaworld-push"]
    assert "MT1" in standalone_source(program, task=card.name, env_id=card.env_id, run_id="r", fitness=None)


def test_each_suite_records_its_policy_and_settings() -> None:
    for family, tasks in SUITE_TASKS.items():
        settings = settings_for(catalog()[tasks[0]].env_id)
        assert settings.policy_class == "MlpPolicy" and settings.observation != "the env's own flat observation", family
    assert settings_for("MiniGrid-DoorKey-8x8-v0").n_envs == 8
    assert "rl-baselines3-zoo" in settings_for("MiniGrid-KeyCorridorS3R1-v0").source
    assert settings_for("Hopper-v5").policy_class == "MlpPolicy"


@pytest.mark.parametrize("task", task_params(["metaworld-push", "fetch-push", "minigrid-keycorridor",
                                              "crafter-place-table"]))  # fmt: skip
def test_description_says_what_obs_and_actions_are(task: str) -> None:
    text = describe(catalog()[task], steps=60).render()
    assert "the env's own observation, unchanged" not in text
    family = catalog()[task].family
    expected = {"metaworld": ("hand_dx", "goal_pos (36:39)"), "fetch": ("open_fingers", "desired_goal (3:6)"),
                "minigrid": ("5 toggle", "not pixels"), "crafter": ("8 place_table", "not pixels")}[family]  # fmt: skip
    for phrase in expected:
        assert phrase in text, phrase


# --- End to end, one short run per family ---------------------------------------------------------------------

PROGRAMS = {
    "metaworld-reach": "    components = {'reach': -float(state.hand_goal_distance), 'effort': -0.01 * float(np.sum(action ** 2))}",
    "fetch-reach": "    components = {'reach': -float(state.grip_goal_distance)}",
    "minigrid-doorkey-5x5": "    def potential(s):\n"
    "        target = 'key' if s.carrying['key'] < 1 else 'door' if s.doors_open < 1 else 'goal'\n"
    "        return s.carrying['key'] + 2.0 * s.doors_open - 0.1 * s.distance[target]\n\n"
    "    components = {'progress': potential(state) - potential(prev), 'time': -0.01}",
    "crafter-collect-wood": "    components = {'wood': float(state.inventory['wood'] - prev.inventory['wood']),\n"
    "                  'tree': 0.05 * state.front['tree'], 'alive': 0.01 * state.health / 9.0}",
}


@pytest.mark.slow
@pytest.mark.parametrize("task", task_params(list(PROGRAMS)))
def test_one_short_run_per_family(task: str, tmp_path: Path) -> None:
    program = (
        f"```python\nimport numpy as np\n\n\ndef compute_reward(prev, action, state):\n{PROGRAMS[task]}\n"
        "    return float(sum(components.values())), components\n```"
    )
    runs = tmp_path / "runs"
    env = {**os.environ, "OPENAI_API_KEY": "sk-test-suites", "AUTOREWARD_RUNS_DIR": str(runs), "MUJOCO_GL": "egl"}
    with ScriptedLLMServer(lambda request: answer(program)) as server:
        done = subprocess.run(
            [CLI, "run", task, "--iterations", "1", "--samples", "1", "--timesteps", "2048", "--eval-episodes", "2",
             "--no-video", "--no-llm-review", "--run-id", "suite", "--quiet", "--model", "openai/test-model",
             "--api-base", server.base_url],
            env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    [candidate] = RunStore(runs).candidates("suite")
    assert candidate.status == "trained", candidate.result
    assert 0.0 <= candidate.fitness <= 1.0  # a success rate
    assert candidate.result["timesteps"] >= 2048 and candidate.result["evaluation"]["episodes"] == 2
    exported = Path(done.stdout.partition("exported: ")[2].strip().split()[0])
    standalone = catalog()[task].family in ("metaworld", "fetch")
    assert exported.is_file() and ("from autoreward." not in exported.read_text()) == standalone
    header = exported.read_text().split('"""')[1]
    assert f"from {exported.stem} import ENV_ID, RewardWrapper" in header and str(runs) not in header
    assert "algorithm: PPO" in header and "budget: " in header and "evaluation episodes" in header
    assert "95% interval" in header
