"""The Python API, called the way the README shows: the same code paths as the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from llm_server import RecordedRequest, Reply, ScriptedLLMServer, answer

import autoreward

GOOD = """import numpy as np


def compute_reward(prev, action, state):
    components = {"upright": 1.0 - 4.0 * abs(state.pole_angle), "centre": -0.05 * abs(state.cart_position)}
    return float(sum(components.values())), components
"""
BAD = GOOD.replace("state.cart_position", "state.cart_speed")  # no such field


def test_import_is_instant_and_tasks_need_no_torch_or_litellm() -> None:
    code = (
        "import sys, autoreward; cards = autoreward.tasks(); assert cards and cards[0].name; "
        "heavy = [m for m in ('torch', 'litellm', 'stable_baselines3') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_every_public_name_is_documented() -> None:
    for name in autoreward.__all__:
        value = getattr(autoreward, name)
        assert getattr(value, "__doc__", None), f"autoreward.{name} has no docstring"


def test_check_accepts_a_good_program_and_names_the_line_of_a_bad_one(tmp_path: Path) -> None:
    verdict = autoreward.check(GOOD, "cartpole-balance")
    assert verdict.accepted, verdict.reasons
    path = tmp_path / "bad.py"
    path.write_text(BAD, encoding="utf-8")
    verdict = autoreward.check(path, "cartpole-balance")
    assert not verdict.accepted
    assert any(r.line == 5 and "cart_speed" in r.message for r in verdict.errors), verdict.reasons


def test_errors_are_the_projects_own_with_the_clis_message(tmp_path: Path) -> None:
    with pytest.raises(autoreward.AutorewardError, match=r"no reward file .*missing\.py"):
        autoreward.check(tmp_path / "missing.py", "cartpole-balance")
    with pytest.raises(autoreward.TaskError):
        autoreward.describe("no-such-task")
    with pytest.raises(autoreward.AutorewardError, match="autoreward runs"):
        autoreward.load_run("nope", runs_dir=tmp_path)


def test_describe_lists_the_state_fields() -> None:
    text = autoreward.describe("cartpole-balance", steps=50)
    assert "pole_angle" in text and "cart_position" in text


def _script(request: RecordedRequest) -> Reply:
    return answer("```python\n" + GOOD + "```", "```python\n" + BAD + "```")


@pytest.mark.slow
def test_run_then_train_sb3_on_the_exported_reward(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's example: a run through the scripted LLM server, then PPO on the run's reward."""
    from stable_baselines3 import PPO

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-api")
    monkeypatch.setenv("MUJOCO_GL", os.environ.get("MUJOCO_GL", "egl"))
    monkeypatch.chdir(tmp_path)
    with ScriptedLLMServer(_script) as server:
        result = autoreward.run(
            "cartpole-balance", model="openai/test-model", api_base=server.base_url, iterations=1, samples=2,
            timesteps=2048, runs_dir=tmp_path / "runs", llm_review=False, prune=False, video=False,
            eval_episodes=2, run_id="api",
        )  # fmt: skip
    assert result.run_id == "api" and result.best_candidate == "api/it00-c00" and result.best_fitness is not None
    assert result.exported is not None and result.exported.is_file()
    statuses = {c["name"]: c["status"] for c in result.iterations[0]["candidates"]}
    assert statuses == {"it00-c00": "trained", "it00-c01": "rejected"}

    stored = autoreward.load_run("api", runs_dir=tmp_path / "runs")
    assert stored.best is not None and stored.best.id == result.best_candidate
    assert "pole_angle" in (stored.sources[result.best_candidate] or "")

    env = autoreward.RewardWrapper.from_run("api", runs_dir=tmp_path / "runs")
    model = PPO("MlpPolicy", env, n_steps=128, batch_size=64, seed=0, device="cpu")
    model.learn(total_timesteps=256)
    env.reset(seed=0)
    _, reward, *_ = env.step(env.action_space.sample())
    assert model.num_timesteps >= 256 and isinstance(reward, float)
    env.close()
