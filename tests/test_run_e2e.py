"""`autoreward run` end to end: the installed CLI, a real LLM server on 127.0.0.1, sandboxed PPO training.

The scripted server answers design and revision requests with programs of known quality; the tests check what
a user would: the run finishes, the second prompt carries the first iteration's fitness and diagnosis, the
export drops into gymnasium and reproduces training's rewards, and a SIGKILL followed by `resume` finishes
with every candidate accounted for and no LLM request repeated.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from llm_server import RecordedRequest, Reply, ScriptedLLMServer, answer

from autoreward.api import start_run
from autoreward.store import RunStore

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).parent / "autoreward")
FAKE_KEY = "sk-test-e2e-secret-0123456789"


def program(body: str) -> str:
    return f"```python\nimport numpy as np\n\n\ndef compute_reward(prev, action, state):\n{body}\n    return float(sum(components.values())), components\n```"


GOOD = program(
    "    components = {'upright': 1.0 - 4.0 * abs(state.pole_angle), 'centre': -0.05 * abs(state.cart_position)}"
)
WEAK = program("    components = {'alive': 0.1, 'lean': 0.5 * abs(state.pole_angle)}")
BROKEN = program("    components = {'speed': state.cart_speed}")
BETTER = program(
    "    components = {'upright': 1.0 - 5.0 * abs(state.pole_angle), 'still': -0.01 * state.pole_angular_velocity ** 2}"
)


def script(request: RecordedRequest) -> Reply:
    """Design requests get GOOD and WEAK; revision requests (they carry feedback) get BROKEN and BETTER."""
    if "Improve a reward function" in request.prompt_text:
        return answer(BROKEN, BETTER)
    return answer(GOOD, WEAK)


def _run(
    args: list[str], runs: Path, server: ScriptedLLMServer, **kwargs
) -> subprocess.Popen | subprocess.CompletedProcess:
    env = {**os.environ, "OPENAI_API_KEY": FAKE_KEY, "AUTOREWARD_RUNS_DIR": str(runs), "MUJOCO_GL": "egl"}
    argv = [CLI, *args]
    if args[0] in ("run", "resume"):
        argv.append("--quiet")
    if args[0] == "run":
        argv += ["--model", "openai/test-model", "--api-base", server.base_url]
    if kwargs.pop("background", False):
        return subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=kwargs.pop("timeout", 600))


RUN_ARGS = ["run", "cartpole-balance", "--iterations", "2", "--samples", "2", "--timesteps", "4000",
            "--no-llm-review", "--eval-episodes", "3", "--seed", "3", "--no-prune"]  # fmt: skip


@pytest.fixture
def server():
    with ScriptedLLMServer(script) as srv:
        yield srv


def test_run_finishes_revises_with_feedback_and_exports(tmp_path: Path, server: ScriptedLLMServer) -> None:
    runs = tmp_path / "runs"
    done = _run([*RUN_ARGS, "--run-id", "e2e"], runs, server)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "best fitness:" in done.stdout and "run: e2e" in done.stdout
    exported = Path(done.stdout.split("exported: ")[1].split()[0])
    assert exported.is_file()

    # Two LLM calls (design, revise), and the revision carries iteration 1's fitness and the diagnosis.
    assert len(server.requests) == 2
    revise = server.requests[1].prompt_text
    store = RunStore(runs)
    first = [c for c in store.candidates("e2e", 0) if c.status == "trained"]
    assert first, "iteration 1 trained at least one candidate"
    best_first = max(first, key=lambda c: c.fitness)
    assert f"fitness {best_first.fitness:.3g}" in revise
    analysis = store.stage("e2e", 0, "analysis")["text"]
    assert analysis and analysis.strip().splitlines()[0] in revise

    # Every candidate is accounted for: the broken one rejected with its reason, the others trained.
    statuses = {c.id.rpartition("/")[2]: c.status for c in store.candidates("e2e")}
    assert statuses == {"it00-c00": "trained", "it00-c01": "trained", "it01-c00": "rejected", "it01-c01": "trained"}
    assert "cart_speed" in json.dumps(store.candidate("e2e/it01-c00").verdict)
    assert (runs / "e2e" / "fitness.png").is_file()

    # The API key never reaches the run store.
    for path in runs.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".sqlite", ".py", ".md", ".txt", ".log", ""):
            assert FAKE_KEY not in path.read_bytes().decode("utf-8", "replace"), path

    # `show --json` and `runs --json` describe the run.
    shown = json.loads(_run(["show", "e2e", "--json"], runs, server).stdout)
    assert shown["best_candidate"] == store.run("e2e").best_candidate and len(shown["candidates"]) == 4
    assert [r["id"] for r in json.loads(_run(["runs", "--json"], runs, server).stdout)] == ["e2e"]

    _exported_reward_replays_training(store, exported)


def _exported_reward_replays_training(store: RunStore, exported: Path) -> None:
    """Replay the best policy's evaluation episodes with the exported wrapper: same seeds, same rewards."""
    best = store.candidate(store.run("e2e").best_candidate)
    rollouts = best.result["evaluation"]["rollouts"]
    weights = store.candidate_dir(best.id) / best.result["artifacts"]["model"]
    assert weights.is_file()
    directory = weights.parent
    job = {"task": "cartpole-balance", "reward_source": None, "seed": 0}
    script = f"""
import json, sys
from pathlib import Path
from autoreward.tasks import resolve_task
from autoreward.training.models import TrainJob
from autoreward.training.saved_policy import load_policy
policy = load_policy(resolve_task("cartpole-balance"), TrainJob.model_validate({job!r}), Path({str(directory)!r}))
for name in [m for m in sys.modules if m == "autoreward" or m.startswith("autoreward.")]:
    del sys.modules[name]
sys.modules["autoreward"] = None  # the exported file must not need autoreward
sys.path.insert(0, {str(exported.parent)!r})
import gymnasium
from {exported.stem} import RewardWrapper
returns = []
for seed in {[r["seed"] for r in rollouts]!r}:
    env = RewardWrapper(gymnasium.make("CartPole-v1"))
    obs, _ = env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        action = policy(obs)
        obs, reward, terminated, truncated, _ = env.step(action)
        total, done = total + reward, terminated or truncated
    returns.append(total)
print(json.dumps(returns))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    replayed = json.loads(done.stdout.strip().splitlines()[-1])
    assert replayed == pytest.approx([r["reward_return"] for r in rollouts], rel=1e-9, abs=1e-9)


def test_sigkill_then_resume_loses_nothing_and_repeats_no_llm_call(tmp_path: Path, server: ScriptedLLMServer) -> None:
    runs = tmp_path / "runs"
    args = [*RUN_ARGS, "--timesteps", "30000", "--iterations", "2", "--run-id", "killed"]
    proc = _run(args, runs, server, background=True)
    store_path = runs / "runs.sqlite"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # wait until training is under way, then kill the whole CLI
        if store_path.exists() and list((runs / "killed").glob("it00-c0*/train/*")):
            break
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        time.sleep(0.5)
    time.sleep(2.0)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    requests_before = len(server.requests)
    assert requests_before == 1, "the kill came during the first iteration's training"
    assert RunStore(runs).run("killed").status == "running"

    done = _run(["resume", "killed"], runs, server)
    assert done.returncode == 0, done.stderr[-3000:]
    store = RunStore(runs)
    assert store.run("killed").status == "finished"
    candidates = store.candidates("killed")
    assert [c.status for c in candidates if c.iteration == 0] == ["trained", "trained"]
    assert all(c.status in ("trained", "rejected", "failed") for c in candidates), [c.status for c in candidates]
    calls = store.llm_calls("killed")
    assert calls[0].purpose == "design" and len(calls) == 1 + (store.run("killed").best_fitness < 475)
    assert len(server.requests) == len(calls), "the design call answered before the kill was not sent again"


def _card(tmp_path: Path) -> str:
    """CartPole without a success threshold, so that no run stops early."""
    path = tmp_path / "cartpole-long.toml"
    path.write_text(
        'name = "cartpole-long"\nenv_id = "CartPole-v1"\nintent = "Balance the pole."\nfitness = "episode_length"\n'
    )
    return str(path)


PREF_ARGS = ["--iterations", "2", "--samples", "2", "--timesteps", "3000", "--no-llm-review", "--no-video",
             "--eval-episodes", "2", "--no-prune"]  # fmt: skip


def test_synthetic_preference_run_finishes_unattended(tmp_path: Path, server: ScriptedLLMServer) -> None:
    runs = tmp_path / "runs"
    args = ["run", _card(tmp_path), *PREF_ARGS, "--preference", "synthetic", "--oracle-noise", "0.5", "--run-id", "syn"]
    done = _run(args, runs, server)
    assert done.returncode == 0, done.stderr[-3000:]
    store = RunStore(runs)
    preference = store.preference("syn", 0)
    trained = {c.id for c in store.candidates("syn", 0) if c.status == "trained"}
    assert preference["source"] == "synthetic" and set(preference["ranking"]) == trained
    revise = server.requests[1].prompt_text
    assert "Ranking of the trained policies by the task's fitness" in revise
    assert store.run("syn").status == "finished"


def test_human_preference_run_waits_is_ranked_in_the_terminal_and_resumes(
    tmp_path: Path, server: ScriptedLLMServer
) -> None:
    runs = tmp_path / "runs"
    done = _run(["run", _card(tmp_path), *PREF_ARGS, "--preference", "human", "--run-id", "hum"], runs, server)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "waits for your ranking" in done.stderr and "autoreward prefer hum" in done.stderr
    store = RunStore(runs)
    assert store.run("hum").status == "waiting_preference"
    assert len(server.requests) == 1

    bad = _run(["prefer", "hum", "--ranking", "1 1"], runs, server)
    assert bad.returncode == 2 and "appears twice" in bad.stderr
    ranked = _run(["prefer", "hum", "--ranking", "2 1"], runs, server)
    assert ranked.returncode == 0, ranked.stderr
    trained = [c.id for c in store.candidates("hum", 0) if c.status == "trained"]
    assert store.preference("hum", 0)["ranking"] == [trained[1], trained[0]]

    resumed = _run(["resume", "hum"], runs, server)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert RunStore(runs).run("hum").status == "finished"
    assert len(server.requests) == 2
    revise = server.requests[1].prompt_text
    assert "by a person watching them" in revise and "1. iteration 1, candidate 2" in revise
    # the Analyzer's advice follows the person's order: it leads with their first choice
    assert f"Candidates as a person ranked them (best first):\n1. {trained[1]}" in revise


def test_a_run_killed_mid_check_resumes_and_a_second_driver_is_refused(
    tmp_path: Path, server: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kill between the dry run's input file and its verdict leaves a designed candidate with a half-written
    critic scratch: `resume` checks it again from a fresh scratch. While one process drives a run, a second
    `resume` of it is one line naming the problem, and the run is left as it was."""
    runs = tmp_path / "runs"
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    run_id = start_run(
        "cartpole-balance", model="openai/test-model", api_base=server.base_url, iterations=1, samples=2,
        timesteps=2048, runs_dir=runs, llm_review=False, prune=False, video=False, eval_episodes=2, run_id="half",
    )  # fmt: skip
    store = RunStore(runs)
    leftover = store.critic_dir("half/it00-c00")
    leftover.mkdir(parents=True)
    (leftover / "dryrun-input.npz").write_bytes(b"written before the kill")

    before = store.run(run_id).status
    with store.driving(run_id):
        refused = _run(["resume", run_id], runs, server)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "run half is being driven by another process" in refused.stderr.strip().splitlines()[-1]
    assert store.run(run_id).status == before and not server.requests, "the refused driver touched the run"

    done = _run(["resume", run_id], runs, server)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [c.status for c in store.candidates(run_id)] == ["trained", "trained"]
