"""`autoreward run` against programs that attack the Critic and the people who read its verdicts.

The scripted LLM server answers with hostile programs beside sound ones; the run must reject each for its own
reason, train only the sound ones, and keep escape sequences, markup names and the CLI's API key out of the
terminal, the run store and every prompt.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from corpus_programs import hostile
from llm_server import RecordedRequest, Reply, ScriptedLLMServer, answer

from autoreward.store import RunStore

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).parent / "autoreward")
FAKE_KEY = "sk-test-critic-e2e-secret-9876543210"
CORPUS = {p.name: p.source for p in hostile()}


def _fenced(source: str) -> str:
    return f"```python\n{source}\n```"


GOOD = _fenced(
    "def compute_reward(prev, action, state):\n"
    "    components = {'upright': 1.0 - 4.0 * abs(state['pole_angle']), 'centre': -0.05 * abs(state.cart_position)}\n"
    "    return sum(components.values()), components\n"
)
GOOD2 = _fenced(
    "import numpy as np\n\n\ndef compute_reward(prev, action, state):\n"
    "    upright = np.float32(1.0 - 5.0 * abs(state.pole_angle))\n"
    "    return upright, {'upright': upright}\n"
)
FIRST = ["ansi_exception", "script_component_name", "placeholder_no_state"]
SECOND = ["absurd_magnitude", "patch_math_isfinite", "huge_expression"]


def script(request: RecordedRequest) -> Reply:
    if "Improve a reward function" in request.prompt_text:
        return answer(*[_fenced(CORPUS[name]) for name in SECOND], GOOD2)
    return answer(*[_fenced(CORPUS[name]) for name in FIRST], GOOD)


def test_hostile_programs_are_rejected_and_nothing_they_say_escapes(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    env = {**os.environ, "OPENAI_API_KEY": FAKE_KEY, "AUTOREWARD_RUNS_DIR": str(runs), "MUJOCO_GL": "egl"}
    with ScriptedLLMServer(script) as server:
        argv = [CLI, "run", "cartpole-balance", "--iterations", "2", "--samples", "4", "--timesteps", "2000",
                "--no-llm-review", "--eval-episodes", "2", "--resample", "0", "--run-id", "attacks", "--quiet",
                "--model", "openai/test-model", "--api-base", server.base_url]  # fmt: skip
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)
        prompts = [r.prompt_text for r in server.requests]
    assert done.returncode == 0, done.stderr[-3000:]
    terminal = done.stdout + done.stderr
    assert "Traceback" not in terminal and "\x1b" not in terminal and "\x9b" not in terminal

    store = RunStore(runs)
    rows = store.candidates("attacks")
    assert len(rows) == 8
    trained = [c for c in rows if c.status == "trained"]
    assert len(trained) == 2, [(c.id, c.status) for c in rows]
    expected = {
        "it00-c00": "ValueError",
        "it00-c01": "is not a Python identifier",
        "it00-c02": "never reads state or prev",
        "it01-c00": "exceeds 1e+06",
        "it01-c01": "assignment to math.isfinite",
        "it01-c02": "too deeply nested or too large",
    }
    for row in rows:
        name = row.id.rpartition("/")[2]
        if name in expected:
            assert row.status == "rejected", (row.id, row.status)
            assert expected[name] in " ".join(row.failure_reasons()), (row.id, row.failure_reasons())
        assert "<script>" not in json.dumps([row.verdict, row.result]), row.id

    # Nothing a program said reaches a person or the LLM raw; the key reaches neither the store nor a prompt.
    assert len(prompts) == 2
    for text in prompts:
        assert FAKE_KEY not in text and "\x1b" not in text and "<script>" not in text
    assert "is not a Python identifier" in prompts[1]  # the revision still learns why
    for path in runs.rglob("*"):
        if path.is_file():
            data = path.read_bytes().decode("utf-8", "replace")
            assert FAKE_KEY not in data, path
            if path.suffix in (".json", ".md", ".txt", ".log", ".py"):  # binary files hold any byte; the db below
                assert "\x1b" not in data, path
    with sqlite3.connect(runs / "runs.sqlite") as db:
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            for row in db.execute(f"SELECT * FROM {table}"):
                assert not any(isinstance(v, str) and "\x1b" in v for v in row), table
