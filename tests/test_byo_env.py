"""A user's own pure-Python env: a card names its observation's entries, and its module may live on PYTHONPATH."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

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
def test_sac_from_the_card_trains_through_the_sandbox_and_leaves_an_sb3_model(tmp_path: Path) -> None:
    from stable_baselines3 import SAC

    from autoreward.training.models import TrainJob
    from autoreward.training.sandboxed import train_in_sandbox

    path = _card(tmp_path, NAMES + "\n\n[hyperparameters]\nlearning_starts = 100\nbatch_size = 32\n")
    text = path.read_text(encoding="utf-8").replace("module = ", 'algorithm = "sac"\nn_envs = 2\nmodule = ', 1)
    path.write_text(text, encoding="utf-8")
    card = load_card(path)
    job = TrainJob(task=str(path), card=card.model_dump(mode="json"), card_source=str(path), reward_source=REWARD,
                   timesteps=400, checkpoints=2, eval_episodes=2, plots=False, tensorboard=False)  # fmt: skip
    result = train_in_sandbox(job, tmp_path / "train")
    assert result.status == "ok", result.error
    assert result.evaluation is not None and result.evaluation.episodes == 2
    assert "SAC" in result.hyperparams_source and result.n_envs == 2
    model = SAC.load(tmp_path / "train" / result.artifacts["sb3_model"], device="cpu")
    action, _ = model.predict(np.array([0.0, 0.0, 1.0], dtype=np.float32), deterministic=True)
    assert action.shape == (1,) and -1.0 <= float(action[0]) <= 1.0
    assert model.buffer_size == 1_000_000  # the real size is recorded, though the writer held a 1-entry buffer
