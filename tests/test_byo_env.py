"""A user's own pure-Python env: a card names its observation's entries, and its module may live on PYTHONPATH."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from autoreward.describe import describe
from autoreward.envs.make import card_state_spec, check_card_env, make_card_env
from autoreward.errors import TaskError
from autoreward.tasks import load_card

ASSETS = Path(__file__).parent / "assets"
CARD = """name = "point-right"
env_id = "PointLine-v0"
intent = "Move right."
module = "{module}"
fitness = {{ expr = "state.position[0]", reduce = "last" }}

[observation]
{names}
"""
NAMES = "position = [0, 1]\nspeed = 1"
REWARD = """def compute_reward(prev, action, state):
    right = float(state.position[0] - prev.position[0]) + 0.01 * state.speed
    return right, {"right": right}
"""


def _card(tmp_path: Path, names: str = NAMES, module: str | None = None) -> Path:
    shutil.copy(ASSETS / "point_env.py", tmp_path / "point_env.py")  # beside the card: the sandbox reads it
    path = tmp_path / "card.toml"
    path.write_text(CARD.format(module=module or "point_env.py", names=names), encoding="utf-8")
    return path


def test_named_observation_entries_are_state_fields(tmp_path: Path) -> None:
    card = load_card(_card(tmp_path))
    env = make_card_env(card)
    spec = card_state_spec(card, env)
    obs, _ = env.reset(seed=0)
    obs, *_ = env.step(np.array([1.0], dtype=np.float32))
    state = spec.snapshot(obs)
    assert state.position.shape == (1,) and state.position[0] == pytest.approx(obs[0])
    assert isinstance(state.speed, float) and state.speed == pytest.approx(obs[1])
    desc = describe(card, steps=60)
    fields = {f.name: f for f in desc.fields}
    assert fields["position"].kind == "vector" and fields["speed"].kind == "scalar"
    assert fields["speed"].entries[0].high[0] > fields["speed"].entries[0].low[0]
    assert [span.field for span in desc.obs_layout] == ["position", "speed", None]
    assert "position" in desc.render() and "speed" in desc.render()


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ("speed = 3", "speed reaches entry 3, but the observation of PointLine-v0 has 3 entries"),
        ("obs = 1", "'obs' is already a State field of PointLine-v0; choose another name"),
        ("a = [0, 2]\nb = 1", "b and a both name observation entry 1"),
        ("a = [2, 1]", "a = [2, 1] is neither an index >= 0 nor a slice"),
        ("Pos = 0", "'Pos' is not a lower-case Python name"),
    ],
)
def test_bad_observation_names_say_file_field_and_fix(tmp_path: Path, names: str, expected: str) -> None:
    path = _card(tmp_path, names)
    with pytest.raises(TaskError) as err:
        check_card_env(load_card(path))
    message = str(err.value)
    assert expected in message and "field 'observation'" in message and str(path.name) in message


def test_a_module_on_pythonpath_passes_check_as_it_passes_describe(tmp_path: Path) -> None:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    shutil.copy(ASSETS / "point_env.py", folder / "byo_point_env.py")
    card = _card(tmp_path, module="byo_point_env")
    reward = tmp_path / "reward.py"
    reward.write_text(REWARD, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "AUTOREWARD_MODEL"} | {"PYTHONPATH": str(folder)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "autoreward.cli", *args], capture_output=True, text=True, env=env, timeout=180
        )

    described = cli("describe", str(card))
    assert described.returncode == 0, described.stderr
    checked = cli("check", str(reward), "--task", str(card), "--no-llm-review")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "accepted" in checked.stderr


def test_the_exported_file_rebuilds_the_named_state(tmp_path: Path) -> None:
    from autoreward.envs.wrapper import ProgramReward
    from autoreward.export import write_standalone
    from autoreward.reward import load_reward

    card = load_card(_card(tmp_path))
    write_standalone(
        tmp_path / "exported_reward.py", REWARD, task=card.name, env_id=card.env_id, run_id="r", fitness=None,
        observation=card.observation_spans,
    )  # fmt: skip
    script = f"""
import sys, json
sys.modules["autoreward"] = None
sys.path[:0] = [{str(tmp_path)!r}, {str(ASSETS)!r}]
import gymnasium, numpy as np
import point_env
from exported_reward import RewardWrapper
env = RewardWrapper(gymnasium.make("PointLine-v0"))
env.reset(seed=3)
print(json.dumps([float(env.step(np.array([0.5], dtype=np.float32))[1]) for _ in range(10)]))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    env = make_card_env(card)
    ours = ProgramReward(env, load_reward(REWARD), card_state_spec(card, env))
    ours.reset(seed=3)
    expected = [float(ours.step(np.array([0.5], dtype=np.float32))[1]) for _ in range(10)]
    assert np.allclose(json.loads(done.stdout), expected) and any(expected)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("algorithm", "settings"),
    [("sac", "learning_starts = 100\nbatch_size = 32"), ("ppo", "n_steps = 64\nbatch_size = 32")],
)
def test_the_cards_learner_trains_through_the_sandbox_and_leaves_an_sb3_model(
    tmp_path: Path, algorithm: str, settings: str
) -> None:
    import stable_baselines3
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    from autoreward.training.models import TrainJob
    from autoreward.training.sandboxed import train_in_sandbox

    path = _card(tmp_path, f"{NAMES}\n\n[hyperparameters]\n{settings}\n")
    text = path.read_text(encoding="utf-8").replace("module = ", f'algorithm = "{algorithm}"\nn_envs = 2\nmodule = ', 1)
    path.write_text(text, encoding="utf-8")
    card = load_card(path)
    job = TrainJob(task=str(path), card=card.model_dump(mode="json"), card_source=str(path), reward_source=REWARD,
                   timesteps=400, checkpoints=2, eval_episodes=2, plots=False, tensorboard=False)  # fmt: skip
    result = train_in_sandbox(job, tmp_path / "train")
    assert result.status == "ok", result.error
    assert result.evaluation is not None and result.evaluation.episodes == 2
    assert algorithm.upper() in result.hyperparams_source and result.n_envs == 2
    # The assessment rebuilt this algorithm's policy from the plain weights, and saved it as SB3 saves a model.
    model = getattr(stable_baselines3, algorithm.upper()).load(tmp_path / "train" / result.artifacts["sb3_model"])
    obs = np.array([[0.0, 0.0, 1.0]], dtype=np.float32)
    if algorithm == "ppo":  # SB3's PPO defaults come with VecNormalize: its statistics come back too
        stats = tmp_path / "train" / result.artifacts["sb3_normalization"]
        obs = VecNormalize.load(str(stats), DummyVecEnv([lambda: make_card_env(card)])).normalize_obs(obs)
    else:
        assert model.buffer_size == 1_000_000  # the real size is recorded, though the writer held a 1-entry buffer
    action, _ = model.predict(obs, deterministic=True)
    assert action.shape == (1, 1) and -1.0 <= float(action[0, 0]) <= 1.0


def _learner_card(tmp_path: Path, env_id: str, extra: str) -> Path:
    path = tmp_path / "learner.toml"
    path.write_text(f'name = "learner"\nenv_id = "{env_id}"\nintent = "Learn."\n{extra}\n', encoding="utf-8")
    return path


def test_the_card_chooses_the_learner_over_the_zoo_entry(tmp_path: Path) -> None:
    from autoreward.training.hyperparams import learner_settings, model_kwargs

    sac = learner_settings(load_card(_learner_card(tmp_path, "Pendulum-v1", 'algorithm = "sac"')))
    assert sac.name == "SAC" and "sac.yml" in sac.source and sac.ppo == {"learning_rate": 1e-3}
    tuned = learner_settings(
        load_card(_learner_card(tmp_path, "Hopper-v5", "n_envs = 2\n[hyperparameters]\nlearning_rate = 0.001"))
    )
    assert tuned.name == "PPO" and tuned.n_envs == 2 and tuned.ppo["learning_rate"] == 0.001
    assert tuned.ppo["n_steps"] == 512 and "the card's" in tuned.source  # the zoo's other keys stay
    td3 = learner_settings(load_card(_learner_card(tmp_path, "Hopper-v5", 'algorithm = "td3"')))
    kwargs = model_kwargs(td3, {}, gym.spaces.Box(-1, 1, (3,)))
    assert kwargs["learning_starts"] == 10000 and kwargs["action_noise"] is not None


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("[hyperparameters]\nlearning_rat = 0.1", "PPO has no setting 'learning_rat'"),
        ("[hyperparameters]\nn_timesteps = 1000", "set timesteps = ... instead"),
        ('algorithm = "sac"\n[hyperparameters]\nn_epochs = 3', "SAC has no setting 'n_epochs'"),
    ],
)
def test_bad_hyperparameters_say_file_field_and_fix(tmp_path: Path, extra: str, expected: str) -> None:
    from autoreward.training.hyperparams import learner_settings

    with pytest.raises(TaskError, match="field 'hyperparameters'") as err:
        learner_settings(load_card(_learner_card(tmp_path, "Pendulum-v1", extra)))
    assert expected in str(err.value)


@pytest.mark.parametrize(("env_id", "algorithm"), [("CartPole-v1", "sac"), ("Pendulum-v1", "dqn")])
def test_an_algorithm_that_cannot_act_is_refused(tmp_path: Path, env_id: str, algorithm: str) -> None:
    with pytest.raises(TaskError, match=f"field 'algorithm': {algorithm} cannot act in {env_id}"):
        check_card_env(load_card(_learner_card(tmp_path, env_id, f'algorithm = "{algorithm}"')))


def test_the_algorithm_flag_is_refused_in_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "autoreward.cli", "run", "cartpole-balance", "--algorithm", "sac"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and "--algorithm sac: sac cannot act in CartPole-v1" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_a_sac_rung_is_measured_from_its_saved_weights(tmp_path: Path) -> None:
    """Successive halving with the card's learner: the worker saves SAC's weights at the rung, and the parent's
    program-free job rebuilds SAC (not PPO) from them to measure the rung."""
    from autoreward.training.job import TrainJob, train_candidate
    from autoreward.training.rungs import assess_rung, copy_rung_policy

    path = _card(tmp_path, f"{NAMES}\n\n[hyperparameters]\nlearning_starts = 50\n")
    path.write_text(path.read_text(encoding="utf-8").replace("module = ", 'algorithm = "sac"\nmodule = ', 1))
    card = load_card(path)
    job = TrainJob(task=str(path), card=card.model_dump(mode="json"), card_source=str(path), reward_source=REWARD,
                   timesteps=300, rungs=[150], rung_episodes=2, eval_episodes=0, plots=False, tensorboard=False,
                   save_model=False, checkpoints=1)  # fmt: skip
    result = train_candidate(job, tmp_path / "train")
    assert result.status == "ok", result.error
    copied = copy_rung_policy(tmp_path / "train")
    try:
        report = assess_rung(job, 0, copied)
    finally:
        shutil.rmtree(copied)
    assert report is not None and report.episodes == 2 and np.isfinite(report.fitness)


HOOK = """

def autoreward_state(env):
    return {"goal_distance": abs(3.0 - getattr(env, "x", 0.0)), "pair": [getattr(env, "v", 0.0), 2.0]}
"""
HOOK_REWARD = """def compute_reward(prev, action, state):
    closer = float(prev.goal_distance - state.goal_distance) + 0.0 * state.pair[1]
    return closer, {"closer": closer}
"""


def test_the_modules_hook_exposes_env_attributes_as_state_fields(tmp_path: Path) -> None:
    from autoreward.envs.wrapper import ProgramReward
    from autoreward.export import write_standalone
    from autoreward.reward import load_reward

    path = _card(tmp_path, module="hooked_env.py")
    (tmp_path / "hooked_env.py").write_text((ASSETS / "point_env.py").read_text() + HOOK, encoding="utf-8")
    card = load_card(path)
    fields = {f.name: f for f in describe(card, steps=40).fields}
    assert fields["goal_distance"].kind == "scalar" and fields["pair"].shape == [2]
    env = make_card_env(card)
    ours = ProgramReward(env, load_reward(HOOK_REWARD), card_state_spec(card, env))
    ours.reset(seed=3)
    expected = [float(ours.step(np.array([0.5], dtype=np.float32))[1]) for _ in range(10)]
    assert all(r > 0 for r in expected)  # moving towards x = 3 brings the point closer
    write_standalone(tmp_path / "exported_reward.py", HOOK_REWARD, task=card.name, env_id=card.env_id, run_id="r",
                     fitness=None, observation=card.observation_spans)  # fmt: skip
    script = f"""
import sys, json
sys.modules["autoreward"] = None
sys.path[:0] = [{str(tmp_path)!r}]
import gymnasium, numpy as np
import hooked_env
from exported_reward import RewardWrapper
env = RewardWrapper(gymnasium.make("PointLine-v0"), state_hook=hooked_env.autoreward_state)
env.reset(seed=3)
print(json.dumps([float(env.step(np.array([0.5], dtype=np.float32))[1]) for _ in range(10)]))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert np.allclose(json.loads(done.stdout), expected)
    clash = tmp_path / "clash_env.py"
    clash.write_text((ASSETS / "point_env.py").read_text() + HOOK.replace("goal_distance", "obs"), encoding="utf-8")
    with pytest.raises(TaskError, match="'obs' is a State field already"):
        check_card_env(load_card(_card(tmp_path, module="clash_env.py")))


def test_a_module_on_pythonpath_exposes_only_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker imports from the module's folder but may read only the module: a PYTHONPATH entry such as a
    home directory must not open the user's other files to generated code."""
    from autoreward.envs.make import card_folders

    (tmp_path / "home").mkdir()
    shutil.copy(ASSETS / "point_env.py", tmp_path / "home" / "byo_exposed_env.py")
    (tmp_path / "home" / "secret.txt").write_text("key", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path / "home"))
    card = load_card(_card(tmp_path, module="byo_exposed_env"))
    folders = card_folders(card)
    assert folders["python_path"] == [tmp_path / "home"]
    assert folders["expose"] == [tmp_path, tmp_path / "home" / "byo_exposed_env.py"]


SCRIPT = """
import sys

import gymnasium as gym
import numpy as np
from stable_baselines3 import SAC

import point_env  # registers PointLine-v0, as the card's module did
from point_right_reward import RewardWrapper

env = RewardWrapper(gym.make("PointLine-v0"))
obs, _ = env.reset(seed=0)
_, reward, *_ , info = env.step(np.array([1.0], dtype=np.float32))
assert set(info["reward_components"]) == {"right"}, info
SAC("MlpPolicy", env, learning_starts=50, seed=0).learn(120)
model = SAC.load(sys.argv[1])
action, _ = model.predict(obs, deterministic=True)
assert env.action_space.contains(action.astype(np.float32)), action
print("ok", reward)
"""


@pytest.mark.slow
def test_a_custom_env_runs_with_sac_exports_and_both_files_serve_a_plain_sb3_script(tmp_path: Path) -> None:
    """The issue's whole walk: named observations, SAC from the card, `autoreward run`, the exported reward in a
    plain SB3 script, and the run's model.zip loaded there."""
    from llm_server import ScriptedLLMServer, answer

    card = _card(tmp_path)
    card.write_text(card.read_text().replace('intent = "Move right."', 'intent = "Move right."\nalgorithm = "sac"'))
    runs = tmp_path / "runs"
    cli = str(Path(sys.executable).parent / "autoreward")
    with ScriptedLLMServer(lambda request: answer(f"```python\n{REWARD}```")) as server:
        done = subprocess.run(
            [cli, "run", str(card), "--model", "openai/test-model", "--api-base", server.base_url, "--iterations",
             "1", "--samples", "1", "--resample", "0", "--timesteps", "600", "--no-prune", "--no-video",
             "--no-llm-review", "--eval-episodes", "2", "--run-id", "sac", "--quiet"],
            capture_output=True, text=True, timeout=900, env={**os.environ, "AUTOREWARD_RUNS_DIR": str(runs)},
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    exported = Path(next(line for line in done.stdout.splitlines() if line.startswith("exported:")).split(": ", 1)[1])
    assert exported.is_file() and "SAC" in exported.read_text()
    shutil.copy(exported, tmp_path / "point_right_reward.py")
    zips = list((runs / "sac").glob("it00-c*/train/assessment/model.zip"))
    assert len(zips) == 1, sorted(str(p) for p in (runs / "sac").rglob("*.zip"))
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    trained = subprocess.run([sys.executable, str(script), str(zips[0])], cwd=tmp_path, capture_output=True,
                             text=True, timeout=600)  # fmt: skip
    assert trained.returncode == 0 and trained.stdout.startswith("ok"), trained.stderr[-3000:]
