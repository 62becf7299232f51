"""`autoreward new`: a card from one sentence, its fitness checked on the env in a worker, never a run started."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from llm_server import ScriptedLLMServer, answer
from suite_marks import needs_task

from autoreward.tasks import load_card


def _answer(expr: str, threshold: float, reduce: str = "mean", name: str = "my-task") -> str:
    return "Here it is:\n" + json.dumps({
        "name": name, "expr": expr, "reduce": reduce, "unit": "", "success_threshold": threshold,
        "timesteps": 50000, "why": "It measures the intent.\nname = 'injected'",
    })  # fmt: skip


def _new(
    tmp_path: Path, env_id: str, intent: str, reply: str, *extra: str
) -> tuple[subprocess.CompletedProcess[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOREWARD_")}
    with ScriptedLLMServer([answer(reply)]) as server:
        done = subprocess.run(
            [sys.executable, "-m", "autoreward.cli", "new", env_id, intent, "--model", "openai/test-model",
             "--api-base", server.base_url, *extra],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
        )  # fmt: skip
        prompt = server.requests[0].prompt_text if server.requests else ""
    return done, prompt


def test_new_writes_a_valid_card_for_a_mujoco_env(tmp_path: Path) -> None:
    card_file = tmp_path / "backward.toml"
    done, prompt = _new(tmp_path, "Hopper-v5", "Hop backward.", _answer("-state.x_velocity", 0.5, name="hop-back"),
                        "--write", str(card_file))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "x_velocity" in prompt and "Hop backward." in prompt  # the model saw the env's State and the intent
    assert "fitness: mean(-state.x_velocity), success at 0.5" in done.stderr
    card = load_card(card_file)
    assert (card.name, card.env_id, card.intent, card.timesteps) == ("hop-back", "Hopper-v5", "Hop backward.", 50000)
    assert card.fitness_text == "mean(-state.x_velocity)" and card.success_threshold == 0.5
    assert "injected" not in card.name and "Random play scores" in card_file.read_text(encoding="utf-8")
    again, _ = _new(tmp_path, "Hopper-v5", "Hop backward.", _answer("-state.x_velocity", 0.5), "--write",
                    str(card_file))  # fmt: skip
    assert again.returncode == 2 and "exists already" in again.stderr


@needs_task("minigrid-doorkey-5x5")
def test_new_prints_a_valid_card_for_a_minigrid_env(tmp_path: Path) -> None:
    done, _ = _new(tmp_path, "MiniGrid-DoorKey-5x5-v0", "Open the door and reach the goal.",
                   _answer("float(reward > 0)", 0.5, reduce="max"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    (tmp_path / "printed.toml").write_text(done.stdout, encoding="utf-8")
    card = load_card(tmp_path / "printed.toml")
    assert card.env_id == "MiniGrid-DoorKey-5x5-v0" and card.fitness_text == "max(float(reward > 0))"


@pytest.mark.parametrize(
    ("expr", "threshold", "expected"),
    [
        ("state.x_speed", 1.0, "has no field 'x_speed'"),  # checked against the State
        ("state.obs[99]", 1.0, "could not be measured on random play"),  # raised in the worker
        ("state.height", 0.1, "random play already reaches the model's threshold 0.1"),
    ],
)
def test_new_refuses_a_fitness_it_cannot_trust(tmp_path: Path, expr: str, threshold: float, expected: str) -> None:
    done, _ = _new(tmp_path, "Hopper-v5", "Hop.", _answer(expr, threshold))
    assert done.returncode != 0 and expected in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not done.stdout
