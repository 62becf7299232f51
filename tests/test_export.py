"""The exported file stands alone and computes exactly the reward used in training."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from corpus_programs import Program, good, hostile

import autoreward
from autoreward.envs.make import make_card_env, state_spec
from autoreward.envs.wrapper import ProgramReward
from autoreward.errors import AutorewardError
from autoreward.export import write_standalone
from autoreward.reward import RewardProgramError, allowlist, load_reward, parse_program
from autoreward.store import RunStore
from autoreward.tasks import catalog, resolve_task

PROGRAMS = {
    "Hopper-v5": """from __future__ import annotations

import math

import numpy as np


def _alive(state) -> float:
    return 1.0 if state.height > 0.8 else 0.0


def compute_reward(prev, action, state):
    components = {
        "forward": state.x_velocity,
        "alive": _alive(state),
        "control": -1e-3 * float(np.sum(np.square(action))),
        "foot": 0.1 * state["contact"]["foot"] - 0.01 * abs(math.sin(state.joint_angle["foot_joint"])),
    }
    return float(sum(components.values())), components
""",
    "Pendulum-v1": """import numpy as np


def compute_reward(prev, action, state):
    components = {"upright": state.cos_angle, "still": -0.1 * abs(state.angle) * state.angular_velocity ** 2,
                  "torque": -0.001 * float(np.sum(action ** 2))}
    return float(sum(components.values())), components
""",
}


def _in_process(env_id: str, program: str) -> ProgramReward:
    env = gym.make(env_id)
    return ProgramReward(env, load_reward(program), state_spec(env))


@pytest.mark.parametrize("env_id", list(PROGRAMS))
def test_exported_reward_equals_the_training_reward(tmp_path: Path, env_id: str) -> None:
    write_standalone(
        tmp_path / "exported_reward.py", PROGRAMS[env_id], task="t", env_id=env_id, run_id="r", fitness=1.0
    )
    # The file runs in a fresh interpreter that cannot import autoreward: it must stand alone.
    script = f"""
import sys, json
sys.modules["autoreward"] = None
sys.path.insert(0, {str(tmp_path)!r})
import gymnasium, numpy as np
from exported_reward import RewardWrapper
env = RewardWrapper(gymnasium.make({env_id!r}))
env.reset(seed=7)
rng = np.random.default_rng(0)
rewards = []
for _ in range(60):
    action = rng.uniform(env.action_space.low, env.action_space.high).astype(env.action_space.dtype)
    obs, reward, terminated, truncated, info = env.step(action)
    rewards.append(reward)
    assert set(info["reward_components"]) and "builtin_reward" in info
    if terminated or truncated:
        break
print(json.dumps(rewards))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    exported = [float(x) for x in done.stdout.split("[")[-1].rstrip("]\n").split(",")]

    env = _in_process(env_id, PROGRAMS[env_id])
    env.reset(seed=7)
    rng = np.random.default_rng(0)
    expected = []
    for _ in range(len(exported)):
        action = rng.uniform(env.action_space.low, env.action_space.high).astype(env.action_space.dtype)
        expected.append(float(env.step(action)[1]))
    assert exported == expected


def test_exported_file_is_clean_python(tmp_path: Path) -> None:
    path = write_standalone(
        tmp_path / "r.py", PROGRAMS["Hopper-v5"], task="t", env_id="Hopper-v5", run_id="r", fitness=None
    )
    text = path.read_text()
    assert not [line for line in text.splitlines() if line.startswith(("from autoreward", "import autoreward"))]
    assert text.count("def compute_reward(") == 1
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--select", "F", "--isolated", str(path)],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout


def _with_program(text: str, program: str) -> str:
    """An exported file's text with its PROGRAM replaced (a tampered store, or a file an attacker wrote)."""
    tree = ast.parse(text)
    node = next(n for n in tree.body if isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "PROGRAM")
    lines = text.splitlines(keepends=True)
    return "".join([*lines[: node.lineno - 1], f"PROGRAM = {program!r}\n", *lines[node.end_lineno :]])


def _refused_by_the_allow_list() -> list[Program]:
    """The hostile corpus that parses but fails the allow-list."""
    refused = []
    for program in hostile():
        try:
            tree = parse_program(program.source)
        except RewardProgramError:
            continue
        if allowlist.problems(tree):
            refused.append(program)
    return refused


def test_a_hostile_program_is_never_exported_and_its_file_never_runs_it(tmp_path: Path) -> None:
    """The red team's programs (and the rest of the statically refused corpus) in an exported file: export,
    ``RewardWrapper.from_file`` and a plain import all refuse it before any of its code runs."""
    programs = _refused_by_the_allow_list()
    assert {"attrgetter_globals", "get_type_hints_eval", "isolated_switch", "format_traversal_built"} <= {
        p.name for p in programs
    }
    good = write_standalone(tmp_path / "good.py", PROGRAMS["Pendulum-v1"], task="t", env_id="Pendulum-v1",
                            run_id="r", fitness=None).read_text()  # fmt: skip
    names = []
    for program in programs:
        with pytest.raises(AutorewardError, match="allow-list"):
            write_standalone(tmp_path / "x.py", program.source, task="t", env_id="Pendulum-v1", run_id="r",
                             fitness=None)  # fmt: skip
        path = tmp_path / f"hostile_{program.name}.py"
        path.write_text(_with_program(good, program.source))
        with pytest.raises(AutorewardError, match="fails the allow-list and was not run"):
            autoreward.RewardWrapper.from_file(path, gym.make("Pendulum-v1"))
        names.append(path.stem)
    script = f"""
import importlib, sys
sys.path.insert(0, {str(tmp_path)!r})
loaded = []
for name in {names!r}:
    try:
        importlib.import_module(name)
        loaded.append(name)
    except Exception as err:
        assert type(err).__name__ == "ProgramRefused", (name, err)
print("LOADED", loaded)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "LOADED []" in done.stdout
    assert [p.name for p in programs if p.traces()] == []


def test_a_good_exported_file_loads_and_says_it_is_generated_code(tmp_path: Path) -> None:
    path = write_standalone(tmp_path / "pendulum_reward.py", PROGRAMS["Pendulum-v1"], task="t",
                            env_id="Pendulum-v1", run_id="r", fitness=0.5)  # fmt: skip
    assert path.read_text().startswith('"""GENERATED CODE, written by `autoreward export`')
    env = autoreward.RewardWrapper.from_file(path, gym.make("Pendulum-v1"))
    env.reset(seed=0)
    _, reward, *_ = env.step(env.action_space.sample())
    assert isinstance(reward, float)


def test_an_older_export_without_the_program_as_data_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old_reward.py"
    path.write_text("open('/tmp/pwned_old_export', 'w')\nclass RewardWrapper: ...\n")
    with pytest.raises(AutorewardError, match="holds no reward program as data"):
        autoreward.RewardWrapper.from_file(path, gym.make("Pendulum-v1"))
    assert not Path("/tmp/pwned_old_export").exists()


def test_user_and_program_text_go_into_the_file_as_data(tmp_path: Path) -> None:
    """A task name or a --from file name that would end the docstring and start code stays data."""
    hostile_text = 'x"""\nimport os; os.system("touch /tmp/pwned_descent")\n"""'
    path = write_standalone(
        tmp_path / "r.py", PROGRAMS["Pendulum-v1"], task=hostile_text, env_id="Pendulum-v1", run_id="r",
        fitness=None, descent=f"It is the program of {hostile_text}.py, unchanged.",
    )  # fmt: skip
    tree = ast.parse(path.read_text())
    assert [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom) and "os" in ast.unparse(n)] == []
    task = next(n for n in tree.body if isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "TASK")
    assert ast.literal_eval(task.value) == hostile_text
    header = ast.get_docstring(tree) or ""
    assert header.startswith("GENERATED CODE") and "x??" in header and '"""' not in header
    autoreward.RewardWrapper.from_file(path, gym.make("Pendulum-v1"))
    assert not Path("/tmp/pwned_descent").exists()


MINIGRID = next(p for p in good() if p.task.startswith("minigrid")).source


def test_a_minigrid_reward_exports_and_trains_sb3_in_a_plain_script(tmp_path: Path) -> None:
    """A suite whose State builder lives in an adapter: the file imports it from the installed package, says
    so, records how its fitness was reached, and trains PPO with the same rewards as in autoreward."""
    card = catalog()["minigrid-doorkey-5x5"]
    how = {"algorithm": "PPO (stable-baselines3)", "budget": "2048 of 2048 timesteps", "seeds": "training 7"}
    path = write_standalone(tmp_path / "doorkey_reward.py", MINIGRID, task=card.name, env_id=card.env_id,
                            run_id="r", fitness=0.5, provenance=how)  # fmt: skip
    text = path.read_text()
    assert "imported from the installed autoreward package" in text and "seeds: training 7" in text
    assert str(tmp_path) not in text and "/work/" not in text
    script = f"""
import json, sys
sys.path.insert(0, {str(tmp_path)!r})
import gymnasium
from stable_baselines3 import PPO
from doorkey_reward import ENV_ID, RewardWrapper
env = RewardWrapper(gymnasium.make(ENV_ID))
env.reset(seed=3)
rewards = [float(env.step(a)[1]) for a in [2, 2, 1, 2, 3, 0, 2, 5]]
model = PPO("MlpPolicy", env, n_steps=64, batch_size=32, n_epochs=1, seed=0, device="cpu")
model.learn(total_timesteps=128)
print(json.dumps([model.num_timesteps, rewards]))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    steps, rewards = json.loads(done.stdout.strip().splitlines()[-1])
    assert steps >= 128

    env = make_card_env(card)
    ours = ProgramReward(env, load_reward(MINIGRID), state_spec(env))
    ours.reset(seed=3)
    assert rewards == [float(ours.step(a)[1]) for a in [2, 2, 1, 2, 3, 0, 2, 5]]
    assert isinstance(autoreward.RewardWrapper.from_file(path, make_card_env(card)), ProgramReward)


def test_export_of_a_stored_program_that_fails_the_allow_list_is_one_line(tmp_path: Path) -> None:
    """A run stored under older rules whose best program the allow-list refuses: `export` explains, no
    traceback, no file; ``from_run`` refuses the same way."""
    store = RunStore(tmp_path / "runs")
    card = resolve_task("cartpole-balance")
    store.create_run("old", card.name, card.model_dump(mode="json"), {}, {})
    source = next(p for p in hostile() if p.name == "isolated_switch").source
    store.set_result(store.add_candidate("old", 0, 0, source, llm_call_id=None), {}, 0.9, "trained")
    store.close()
    done = subprocess.run(
        [sys.executable, "-m", "autoreward.cli", "export", "old", "--runs-dir", str(tmp_path / "runs")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "fails the reward allow-list" in done.stderr and "line 7" in done.stderr
    with pytest.raises(AutorewardError, match="fails the reward allow-list"):
        autoreward.RewardWrapper.from_run("old", runs_dir=tmp_path / "runs")
    assert not Path("/tmp/pwned_isolated_switch").exists()
