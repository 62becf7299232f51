"""`autoreward replay`: a stored run re-run from its stored LLM answers, with the scripted server counting that no
request reaches it; a replay that needs an answer the store lacks stops with one line."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from llm_server import RecordedRequest, Reply, ScriptedLLMServer, answer

from autoreward.store import RunStore

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).parent / "autoreward")
FAKE_KEY = "sk-test-replay-0123456789"


def program(body: str) -> str:
    return f"```python\ndef compute_reward(prev, action, state):\n{body}\n    return float(sum(components.values())), components\n```"


GOOD = program(
    "    components = {'upright': 1.0 - 4.0 * abs(state.pole_angle), 'centre': -0.05 * abs(state.cart_position)}"
)
WEAK = program("    components = {'alive': 0.1, 'lean': 0.5 * abs(state.pole_angle)}")
BETTER = program("    components = {'upright': 1.0 - 5.0 * abs(state.pole_angle)}")
REVIEW = '```json\n{"verdict": "accept", "findings": []}\n```'


def script(request: RecordedRequest) -> Reply:
    if "Review a reward function" in request.prompt_text:
        return answer(REVIEW)
    if "Improve a reward function" in request.prompt_text:
        return answer(BETTER, WEAK)
    return answer(GOOD, WEAK)


def _cli(args: list[str], runs: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENAI_API_KEY": FAKE_KEY, "AUTOREWARD_RUNS_DIR": str(runs), "MUJOCO_GL": "egl"}
    return subprocess.run([CLI, *args, "--quiet"], env=env, capture_output=True, text=True, timeout=900)


def test_replay_makes_no_llm_request_and_stops_where_the_store_has_no_answer(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with ScriptedLLMServer(script) as server:
        done = _cli(["run", "cartpole-balance", "--iterations", "2", "--samples", "2", "--timesteps", "1500",
                     "--eval-episodes", "2", "--no-video", "--run-id", "source", "--model", "openai/test-model",
                     "--api-base", server.base_url], runs)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        asked = len(server.requests)
        store = RunStore(runs)
        purposes = [c.purpose for c in store.llm_calls("source")]
        assert purposes[0] == "design" and "revise" in purposes and any(p.startswith("review:") for p in purposes)

        replayed = _cli(["replay", "source", "--run-id", "again", "--seed", "11"], runs)
        assert replayed.returncode == 0, replayed.stderr[-3000:]
        assert len(server.requests) == asked, "the replay sent a request to the LLM"
        again = RunStore(runs)
        assert again.run("again").status == "finished" and again.run("again").meta["replay_of"] == "source"
        assert again.run("again").config["seed"] == 11
        source_programs = {c.id.rpartition("/")[2]: again.source(c.id) for c in again.candidates("source")}
        replay_programs = {c.id.rpartition("/")[2]: again.source(c.id) for c in again.candidates("again")}
        assert replay_programs == source_programs  # the same answers, in the same order
        assert [c.purpose.replace("again/", "source/") for c in again.llm_calls("again")] == purposes

        # A store without the revision's answer: the replay trains iteration 1, then stops with one line.
        with sqlite3.connect(runs / "runs.sqlite") as db:
            db.execute("DELETE FROM llm_calls WHERE run_id = 'source' AND purpose = 'revise'")
        short = _cli(["replay", "source", "--run-id", "short"], runs)
        assert short.returncode == 2, short.stderr[-3000:]
        assert len(server.requests) == asked
        last = short.stderr.strip().splitlines()[-1]
        assert "replays source" in last and "no stored answer" in last and "Traceback" not in short.stderr
        assert {c.iteration for c in RunStore(runs).candidates("short")} == {0}

    missing = _cli(["replay", "nope"], runs)
    assert missing.returncode == 2 and "no run 'nope'" in missing.stderr
