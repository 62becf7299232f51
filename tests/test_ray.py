"""The Ray backend with a real local Ray (2 CPUs): candidates train as Ray tasks in sandboxed workers, their
artefacts land in the driver's scratch directories, a killed Ray worker is retried once, and the sandbox still
hides the Ray worker's environment, Ray's token and the network from the program."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llm_server import ScriptedLLMServer, answer
from typer.testing import CliRunner

from autoreward.errors import AutorewardError
from autoreward.ray_backend import INSTALL_HINT, NODE_SCRATCH, RayTrainer, ray_train_one
from autoreward.runconfig import RunConfig
from autoreward.store import RunStore
from autoreward.tasks import resolve_task
from autoreward.training.halving import Halving, HalvingConfig
from autoreward.training.models import RungReport, TrainJob, TrainResult
from autoreward.training.parallel import train_many

FAKE_KEY = "sk-ray-FAKE-0123456789abcdef"
RUNTIME_SECRET = "runtime-env-secret-42"
CARD = resolve_task("cartpole-balance")
CONFIG = RunConfig(task="cartpole-balance", backend="ray")
GOOD = """\
def compute_reward(prev, action, state):
    upright = 1.0 - abs(state.pole_angle) / 0.21
    components = {"upright": upright, "centred": -0.1 * abs(state.cart_position)}
    return float(sum(components.values())), components
"""


def _job(candidate_id: str, source: str = GOOD, timesteps: int = 3000, seed: int = 0) -> TrainJob:
    return TrainJob(
        candidate_id=candidate_id, task="cartpole-balance", reward_source=source, timesteps=timesteps, seed=seed,
        eval_episodes=2, video=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def ray_session() -> Iterator[Any]:
    """One local Ray for the module, started with an API key in the driver's environment (its workers inherit
    it) and another secret set on every worker through ``runtime_env``."""
    import ray

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPENAI_API_KEY", FAKE_KEY)
        ray.init(
            num_cpus=2, include_dashboard=False, log_to_driver=False,
            runtime_env={"env_vars": {"AUTOREWARD_RUNTIME_SECRET": RUNTIME_SECRET}},
        )  # fmt: skip
        try:
            yield ray
        finally:
            ray.shutdown()


@pytest.fixture
def trainer(ray_session: Any) -> Iterator[RayTrainer]:
    trainer = ray_train_one(CONFIG, CARD)
    yield trainer
    trainer.close()


@pytest.mark.slow
def test_two_candidates_train_on_ray_and_their_artefacts_land_on_the_driver(
    trainer: RayTrainer, tmp_path: Path
) -> None:
    assert trainer.slots() == 2, "the cluster's CPUs, one per candidate"
    jobs = [_job("c0", seed=0), _job("c1", seed=1)]
    scratches = [tmp_path / "c0" / "train", tmp_path / "c1" / "train"]
    log: list[tuple[str, str]] = []  # (candidate, event or "RESULT"), in the order the driver saw them
    lock = threading.Lock()

    def on_event(candidate: str, event: dict[str, Any]) -> None:
        with lock:
            log.append((candidate, event["event"]))

    def on_result(job: TrainJob, result: TrainResult) -> None:
        with lock:
            log.append((job.candidate_id, "RESULT"))

    results = train_many(jobs, scratches, workers=None, on_event=on_event, on_result=on_result, train_one=trainer)

    for job, result, scratch in zip(jobs, results, scratches, strict=True):
        assert result.status == "ok", result.error
        assert result.candidate_id == job.candidate_id and result.timesteps >= 3000
        assert result.evaluation is not None and result.fitness is not None
        for name in ("model", "stats", "learning_curve", "components", "tensorboard"):
            assert (scratch / result.artifacts[name]).exists(), name
        assert list((scratch / "tensorboard").rglob("events.out.tfevents.*")), "TensorBoard events came back"
        stored = TrainResult.model_validate_json((scratch / "stats.json").read_text())
        assert stored.fitness == result.fitness and stored.timesteps == result.timesteps
        mine = [event for candidate, event in log if candidate == job.candidate_id]
        assert mine[0] == "started" and "progress" in mine, mine
        assert mine[-2:] == ["finished", "RESULT"], "every event reaches the driver before the result"
    root = Path(tempfile.gettempdir()) / NODE_SCRATCH
    live = [p.name for p in root.glob("*") if Path("/proc", p.name.partition("-")[0]).exists()]
    assert live == [], "a finished task removes its node-local scratch directory"


@pytest.mark.slow
def test_halving_cuts_a_trailing_candidate_on_ray_as_locally(trainer: RayTrainer, tmp_path: Path) -> None:
    """The same rule decides in a Ray actor: a candidate trailing an earlier one at its rung is stopped by its
    node and comes back pruned, with its model and statistics."""
    config = HalvingConfig(factor=3, rungs=1)
    leader = TrainResult(candidate_id="leader", task="cartpole-balance", status="ok",
                         rungs=[RungReport(rung=0, timesteps=3000, fitness=1e9, value=1e9)])  # fmt: skip
    job = _job("c0", timesteps=9000).model_copy(update={"rungs": config.rung_steps(9000)})
    (result,) = train_many([job], [tmp_path], workers=1, train_one=trainer, halving=Halving(config, [leader]))
    assert result.status == "pruned", (result.error, result.rungs)
    assert result.pruned is not None and result.pruned.rung == 0 and result.timesteps < 9000
    # Measured by the node's trainer from the saved weights (program-free), the worker paused at its rung.
    assert [r.episodes for r in result.rungs] == [job.rung_episodes] and result.rungs[0].value < 1e9
    assert result.timesteps < 3000 + 256, result.timesteps
    for name in ("model", "stats"):
        assert (tmp_path / result.artifacts[name]).stat().st_size > 0, name


@pytest.mark.slow
def test_a_killed_worker_is_retried_once_then_recorded_as_failed(ray_session: Any, tmp_path: Path) -> None:
    """'again' loses its Ray worker once, mid-training, and finishes on the retry; 'doomed' loses it on every
    attempt and is recorded as failed with the reason. The kill comes from a test-only hook run in the Ray
    worker (SIGKILL of the worker itself, which takes its bwrap'd sandbox down with it)."""

    def kill_worker(job: TrainJob, attempt: int, event: dict[str, Any]) -> None:
        import os
        import signal

        if event.get("event") == "progress" and (job.candidate_id == "doomed" or attempt == 1):
            os.kill(os.getpid(), signal.SIGKILL)

    trainer = ray_train_one(CONFIG, CARD, fault=kill_worker)
    warnings: dict[str, list[str]] = {}

    def on_event(candidate: str, event: dict[str, Any]) -> None:
        if event["event"] == "warning":
            warnings.setdefault(candidate, []).append(event["message"])

    try:
        again, doomed = train_many(
            [_job("again"), _job("doomed")], [tmp_path / "again", tmp_path / "doomed"], workers=2,
            on_event=on_event, train_one=trainer,
        )  # fmt: skip
    finally:
        trainer.close()
    assert again.status == "ok", again.error
    assert (tmp_path / "again" / "policy.pt").is_file()
    assert warnings["again"] == [warnings["again"][0]] and "retrying once" in warnings["again"][0]
    assert doomed.status == "failed" and doomed.failure == "internal"
    assert doomed.error.startswith("worker died twice: WorkerCrashedError"), doomed.error
    assert doomed.error.count("WorkerCrashedError") == 2
    assert not (tmp_path / "doomed" / "policy.pt").exists()


@pytest.mark.slow
def test_sandbox_hides_the_ray_workers_environment_and_network(
    ray_session: Any, trainer: RayTrainer, tmp_path: Path
) -> None:
    @ray_session.remote(num_cpus=0)
    def ray_worker_environment() -> dict[str, str]:
        return dict(os.environ)

    # The control: the Ray worker itself holds both secrets and Ray's own variables.
    outside = ray_session.get(ray_worker_environment.remote())
    assert outside["OPENAI_API_KEY"] == FAKE_KEY and outside["AUTOREWARD_RUNTIME_SECRET"] == RUNTIME_SECRET
    assert any(name.startswith("RAY_") for name in outside)

    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(60)
    port = server.getsockname()[1]
    received: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            received.append(server.accept()[0])

    listener = threading.Thread(target=accept, daemon=True)
    listener.start()
    token = Path.home() / ".ray" / "auth_token"  # the local cluster's credential: it lets a holder submit work
    assert token.is_file() and token.read_text().strip()
    reads_env = f"""\
import numpy as np


def compute_reward(prev, action, state):
    environ = np._core.records.os.environ
    try:
        with open({str(token)!r}) as handle:
            token = handle.read()
    except OSError as err:
        token = type(err).__name__
    raise RuntimeError("SEEN:" + ",".join(sorted(environ)) + " VALUES:" + ",".join(environ.values()) + " TOKEN:" + token)
"""
    connects = f"""\
import socket


def compute_reward(prev, action, state):
    socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"leak")
    return 1.0, {{"alive": 1.0}}
"""
    env_result, net_result = train_many(
        [_job("env", reads_env), _job("net", connects)], [tmp_path / "env", tmp_path / "net"], workers=2,
        train_one=trainer,
    )  # fmt: skip
    server.close()
    listener.join(timeout=5)

    assert env_result.status == "failed" and env_result.failure == "reward"
    assert "SEEN:" in env_result.error and "PATH" in env_result.error, env_result.error
    seen = env_result.error.split("SEEN:")[1].split(" VALUES:")[0].split(",")
    assert "OPENAI_API_KEY" not in seen and "AUTOREWARD_RUNTIME_SECRET" not in seen
    assert not [name for name in seen if name.startswith("RAY")], seen
    assert "TOKEN:FileNotFoundError" in env_result.error, "the home directory is hidden from the program"
    for secret in (FAKE_KEY, RUNTIME_SECRET, token.read_text().strip()):
        assert secret not in env_result.model_dump_json()

    assert net_result.status == "failed", net_result
    assert "system call the sandbox forbids" in net_result.error, net_result.error
    assert received == [], "the program reached the host's 127.0.0.1"


def test_ray_backend_without_ray_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    with pytest.raises(AutorewardError) as caught:
        ray_train_one(CONFIG, CARD)
    assert str(caught.value) == INSTALL_HINT and "pip install 'autoreward[ray]'" in INSTALL_HINT

    from autoreward.cli import app

    runs = tmp_path / "runs"
    result = CliRunner().invoke(app, ["run", "cartpole-balance", "--backend", "ray", "--runs-dir", str(runs)])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {INSTALL_HINT}", result.stderr
    assert not list(runs.glob("*/")), "no run is created"


# --- the CLI end to end: `autoreward run --backend ray`, killed mid-training, then `autoreward resume` ----------

CLI = str(Path(sys.executable).parent / "autoreward")
PROGRAM = f"```python\nimport numpy as np\n\n\n{GOOD}```"
PROGRAM_TOO = PROGRAM.replace("-0.1 *", "-0.2 *")  # a second program: an identical one is a duplicate, not trained


@pytest.mark.slow
def test_cli_run_on_ray_killed_mid_training_resumes(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    env = {**os.environ, "OPENAI_API_KEY": FAKE_KEY, "AUTOREWARD_RUNS_DIR": str(runs), "MUJOCO_GL": "egl"}
    with ScriptedLLMServer(lambda request: answer(PROGRAM, PROGRAM_TOO)) as server:
        argv = [CLI, "run", "cartpole-balance", "--backend", "ray", "--iterations", "1", "--samples", "2",
                "--timesteps", "6000", "--no-llm-review", "--no-video", "--eval-episodes", "2", "--run-id", "onray", "--no-prune",
                "--model", "openai/test-model", "--api-base", server.base_url, "--quiet"]  # fmt: skip
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)  # fmt: skip
        progress = False
        assert proc.stderr is not None
        for line in proc.stderr:  # the plain view prints the workers' progress events as they arrive
            if "steps, fitness so far" in line:
                progress = True
                break
        assert progress, proc.communicate()[0][-3000:]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert RunStore(runs).run("onray").status == "running"

        done = subprocess.run([CLI, "resume", "onray", "--quiet"], env=env, capture_output=True, text=True,
                              timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    store = RunStore(runs)
    assert store.run("onray").status == "finished"
    candidates = store.candidates("onray")
    assert [c.status for c in candidates] == ["trained", "trained"]
    for row in candidates:
        assert (store.candidate_dir(row.id) / row.result["artifacts"]["model"]).is_file()
    assert len(server.requests) == 1, "the design call was not repeated"


# --- shipping artefacts back (no Ray needed) ----------------------------------------------------------------


def test_shipping_carries_regular_files_only_and_within_bounds(tmp_path: Path) -> None:
    """The scratch directory was writable by the program: links are never followed, big files stay behind, and
    the driver drops artefacts that did not travel, with a warning."""
    from autoreward.training.shipping import pack, unpack

    node, driver = tmp_path / "node", tmp_path / "driver"
    (node / "tensorboard" / "ppo_1").mkdir(parents=True)
    (node / "tensorboard" / "ppo_1" / "events.out.tfevents.1").write_bytes(b"tb")
    (node / "stats.json").write_text("{}")
    (node / "model.zip").write_bytes(b"m" * 2048)
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    (node / "leak.txt").symlink_to(secret)
    result = TrainResult(
        candidate_id="c", task="cartpole-balance", status="ok",
        artifacts={"model": "model.zip", "stats": "stats.json", "tensorboard": "tensorboard"},
    )  # fmt: skip
    shipment = pack(result, node, max_file=1024)
    assert set(shipment.files) == {"stats.json", "tensorboard/ppo_1/events.out.tfevents.1"}
    assert sorted(s.split(" ")[0] for s in shipment.skipped) == ["leak.txt", "model.zip"]

    warnings: list[str] = []
    landed = unpack(shipment, driver, lambda event: warnings.append(event["message"]))
    assert (driver / "tensorboard" / "ppo_1" / "events.out.tfevents.1").read_bytes() == b"tb"
    assert not (driver / "leak.txt").exists() and not (driver / "model.zip").exists()
    assert set(landed.artifacts) == {"stats", "tensorboard"}, "the model that stayed behind is not claimed"
    assert any("model.zip (2048 bytes, over 1024 bytes)" in w for w in warnings), warnings
    assert any("leak.txt (not a regular file)" in w for w in warnings), warnings
    assert any("missing on the driver: model" in w for w in warnings), warnings

    shipment.files["../escape.txt"] = b"x"
    with pytest.raises(ValueError, match="leaves the scratch directory"):
        unpack(shipment, tmp_path / "again")
    assert not (tmp_path / "escape.txt").exists()


@pytest.mark.slow
def test_a_failed_ray_task_keeps_its_cause(trainer: RayTrainer, tmp_path: Path) -> None:
    """An exception raised in the Ray task is stored with its type and message, not Ray's wrapper line
    ("ray::_train_on_node() (pid=..., ip=...)"): here the card, given by a path no node has."""
    job = _job("cause").model_copy(update={"task": str(tmp_path / "gone.toml")})
    (result,) = train_many([job], [tmp_path / "cause"], workers=1, train_one=trainer)
    assert result.status == "failed" and result.failure == "internal"
    assert result.error.startswith("the Ray task failed: TaskError: "), result.error
    assert "gone.toml: no such task card file; check the path" in result.error
