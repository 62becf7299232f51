"""Runtime attacks: programs that strike during training, after any dry run, with the Critic skipped on purpose
(they run straight through ``train_in_sandbox``): the program controls its whole process, and still nothing it
writes or says is trusted. The corpus is tests/corpus/runtime; ``autoreward run`` end to end is at the bottom.

Each attack is checked for what a user would lose: a file outside the run directory, a secret in the run store,
a forged fitness selected or exported, a hang, a traceback."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from llm_server import RecordedRequest, Reply, ScriptedLLMServer, answer

from autoreward.sandbox import isolation
from autoreward.store import RunStore
from autoreward.training.models import TrainJob, TrainResult
from autoreward.training.sandboxed import train_in_sandbox

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not isolation._works("bwrap"), reason="bwrap cannot create namespaces on this machine"),
]

RUNTIME = Path(__file__).parent / "corpus" / "runtime"
FAKE_KEY = "sk-runtime-attack-FAKE-0123456789"
SHADOW_MARK = "root:"  # every /etc/shadow starts with root's line
CARTPOLE_MAX = 500.0


def _source(name: str) -> str:
    return (RUNTIME / f"{name}.py").read_text()


def _train(name: str, scratch: Path, **fields) -> TrainResult:
    job = TrainJob(candidate_id=name, task="cartpole-balance", reward_source=_source(name), timesteps=3000,
                   eval_episodes=2, plots=False, **fields)  # fmt: skip
    return train_in_sandbox(job, scratch)


def _stored_text(root: Path) -> str:
    """Everything under ``root`` as text, never following a link (a link is itself a finding)."""
    parts = []
    for path in root.rglob("*"):
        assert not path.is_symlink(), f"a link reached the run store: {path}"
        if path.is_file():
            parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)


@pytest.fixture(autouse=True)
def no_traces() -> None:
    for trace in Path("/tmp").glob("pwned_*"):
        trace.unlink()
    yield
    assert list(Path("/tmp").glob("pwned_*")) == [], "a program left a file outside its scratch directory"


def test_planted_links_modules_bait_and_threads_change_nothing(tmp_path: Path) -> None:
    """Links named like the log and the artefacts, stdlib-named modules, pickle bait where the policy is saved
    (rewritten by a thread after training), and a thread that never ends."""
    scratch = tmp_path / "train"
    result = _train("plant_everything", scratch, video=True)
    text = _stored_text(tmp_path) + result.model_dump_json()
    assert SHADOW_MARK not in text and FAKE_KEY not in text
    assert not Path("/tmp/pwned_plant_everything").exists(), "a planted module ran, or bait was unpickled"
    # The bait in policy.pt is refused (weights_only), never unpickled: the candidate fails or keeps its
    # true fitness, and the program-free jobs ran in fresh scratch directories without the planted modules.
    print(result.status, result.error, result.artifacts)
    if result.status == "ok":
        assert result.evaluation is not None and 0 < result.fitness <= CARTPOLE_MAX
    else:
        assert "final evaluation failed" in (result.error or ""), result.error
    assert "wall-time" not in (result.error or ""), "the lingering threads kept a worker alive"


def test_host_reads_and_a_log_link_leak_nothing(tmp_path: Path) -> None:
    result = _train("read_and_crash", tmp_path / "train")
    assert result.status == "failed" and result.failure == "reward" and result.error_line is not None
    found = result.error or ""
    assert "FOUND" in found, found
    text = _stored_text(tmp_path) + result.model_dump_json()
    assert FAKE_KEY not in text and SHADOW_MARK not in text
    assert "'shadow': '<No such file or directory>'" in found  # not merely unreadable: not there at all
    listed = ast.literal_eval(found.partition("FOUND ")[2].rpartition(" at line")[0])
    # Only the folders on the way to what the worker needs (the interpreter, the venv, the package sources).
    needed = isolation.readable_paths()
    for top in ("/root", "/home", "/work"):
        names = [n for n in listed[top.strip("/")].split(",") if n and not n.startswith("<")]
        assert all(any(p.is_relative_to(Path(top) / n) for p in needed) for n in names), (top, names)
    assert listed["passwd"] == "<No such file or directory>"
    assert FAKE_KEY not in listed["environ"] and "OPENAI" not in listed["environ"] + listed["init_environ"]


def test_forged_state_and_evaluation_never_reach_the_fitness(tmp_path: Path) -> None:
    result = _train("forge_fitness", tmp_path / "train")
    assert result.status == "ok", result.error
    assert result.evaluation is not None
    assert result.fitness <= CARTPOLE_MAX and result.evaluation.fitness_max <= CARTPOLE_MAX
    assert all(r.fitness <= CARTPOLE_MAX for r in result.evaluation.rollouts)
    stored = json.loads((tmp_path / "train" / "stats.json").read_text())
    assert stored["evaluation"]["fitness_mean"] == result.fitness


def test_a_call_that_never_returns_ends_the_candidate_naming_its_line(tmp_path: Path) -> None:
    result = _train("hang_after_dryrun", tmp_path / "train")
    assert result.status == "failed" and result.failure == "reward"
    assert "CallTimeout" in (result.error or "") and result.error_line in (7, 8), result.error


def test_a_program_slow_only_in_training_is_stopped_by_the_parents_stall_limit(tmp_path: Path) -> None:
    """0.25 s a call, only after the dry run's calls: the parent stops it for making no progress (one checkpoint,
    so the next progress event would come only after ~12 minutes), long before the budget's wall limit."""
    result = _train("slow_in_training", tmp_path / "train", checkpoints=1)
    assert result.status == "failed" and "stalled" in (result.error or ""), result.error
    assert "wall-time" not in (result.error or "")


def test_files_named_like_the_parents_own_change_nothing(tmp_path: Path) -> None:
    scratch = tmp_path / "train"
    result = _train("plant_parent_names", scratch, video=True)
    assert result.status == "ok", result.error
    assert result.evaluation is not None and 0 < result.fitness <= CARTPOLE_MAX
    assert (scratch / "assessment").is_dir() and (scratch / "stats.json").is_file()
    stored = json.loads((scratch / "stats.json").read_text())
    assert stored["evaluation"]["fitness_mean"] == result.fitness


# --- through `autoreward run` -------------------------------------------------------------------------------

CLI = str(Path(sys.executable).parent / "autoreward")
# Tries to make the State writable through .base and write the pole's angle: it passes a Critic that looks only
# at names and outputs, so it reaches training, where the sealed State refuses and the fitness stays true.
FORGER = """```python
import numpy as np


def compute_reward(prev, action, state):
    obs = state.obs
    for array in (obs, obs.base):
        try:
            array.setflags(write=True)
            array[2] = 0.0
        except (AttributeError, ValueError):
            pass
    upright = 1.0 - abs(state.pole_angle) / 0.21
    components = {"upright": upright}
    return float(sum(components.values())), components
```"""
GOOD = """```python
import numpy as np


def compute_reward(prev, action, state):
    components = {"upright": 1.0 - 4.0 * abs(state.pole_angle), "centre": -0.05 * abs(state.cart_position)}
    return float(sum(components.values())), components
```"""


def _script(request: RecordedRequest) -> Reply:
    return answer(FORGER, GOOD)


def test_runtime_attack_through_autoreward_run(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    env = {**os.environ, "OPENAI_API_KEY": FAKE_KEY, "AUTOREWARD_RUNS_DIR": str(runs), "MUJOCO_GL": "egl"}
    with ScriptedLLMServer(_script) as server:
        argv = [CLI, "run", "cartpole-balance", "--iterations", "1", "--samples", "2", "--timesteps", "3000",
                "--no-llm-review", "--eval-episodes", "2", "--seed", "1", "--run-id", "attack", "--quiet",
                "--model", "openai/test-model", "--api-base", server.base_url]  # fmt: skip
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900, cwd=tmp_path)
        prompts = " ".join(r.prompt_text for r in server.requests)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stdout + done.stderr, done.stderr[-5000:]
    assert FAKE_KEY not in _stored_text(runs) and FAKE_KEY not in prompts
    store = RunStore(runs)
    best = store.run("attack").best_candidate
    rows = store.candidates("attack")
    for row in rows:
        if row.fitness is not None:
            assert row.fitness <= CARTPOLE_MAX, (row.id, row.fitness)
    print([(row.id, row.status, row.fitness) for row in rows])
    assert best is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"], "nothing written beside the run store"
