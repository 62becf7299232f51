"""The sandbox on its own: real bwrap, real processes, the static check bypassed on purpose.

Each hostile program with a ``# sandbox:`` header runs straight in the worker: the isolation must hold even when
the Critic's static stage is skipped or fooled. The fake API key in the parent's environment and the fake
secret in its home directory must stay out of reach.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from corpus_programs import FAKE_SECRET_FILE, Program, hostile

from autoreward.critic.dryrun import reasons_from_report
from autoreward.sandbox import isolation
from autoreward.sandbox.isolation import SandboxUnavailable, bwrap_command, choose_isolation, worker_env
from autoreward.sandbox.jobs import Job, UnknownJobKind, resolve_job
from autoreward.sandbox.limits import Limits
from autoreward.sandbox.run import run_in_sandbox
from autoreward.sandbox.seccomp import seccomp_available
from autoreward.tasks import resolve_task

FAKE_KEY = "sk-autoreward-FAKE-0123456789"
LIMITS = Limits(wall_seconds=20, cpu_seconds=5)
HAS_BWRAP = isolation._works("bwrap")
needs_bwrap = pytest.mark.skipif(not HAS_BWRAP, reason="bwrap cannot create namespaces on this machine")
needs_seccomp = pytest.mark.skipif(not seccomp_available(), reason="pyseccomp/libseccomp2 not installed")

GOOD = """import numpy as np
def compute_reward(prev, action, state):
    upright = 1.0 - abs(state.pole_angle)
    print("hello from the program")
    return upright, {"upright": upright}
"""


def _job(source: str, task: str = "cartpole-balance", steps: int = 100) -> Job:
    card = resolve_task(task)
    return Job(
        entry_point="autoreward.critic.dryrun:run_job",
        source=source,
        params={"card": card.model_dump(mode="json"), "steps": steps},
    )


@pytest.fixture
def secrets_in_parent(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An API key in the parent's environment and a secret file in its home directory."""
    home = tmp_path / "home"
    home.mkdir()
    (home / FAKE_SECRET_FILE).write_text(FAKE_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("HOME", str(home))
    return home


SANDBOXED = [p for p in hostile() if p.sandbox_status]
SLOW_SANDBOX = {"cpu_limit", "timeout"}


@needs_bwrap
@needs_seccomp
@pytest.mark.parametrize(
    "program",
    [pytest.param(p, id=p.name, marks=pytest.mark.slow if p.sandbox_status in SLOW_SANDBOX else ()) for p in SANDBOXED],
)
def test_isolation_holds_without_the_static_check(program: Program, tmp_path: Path, secrets_in_parent: Path) -> None:
    scratch = tmp_path / "scratch"
    report = run_in_sandbox(_job(program.source, program.task), scratch, LIMITS)
    text = report.describe() + " " + " ".join(str(r) for r in reasons_from_report(report))
    text += " " + str(report.result.get("failure") or "")
    assert report.isolation == "bwrap"
    if program.sandbox_status in SLOW_SANDBOX:
        # CPU limit or wall time: which comes first depends on the machine's load, and both mean "too slow".
        assert report.status in SLOW_SANDBOX, text
    else:
        assert report.status == program.sandbox_status, text
        assert program.sandbox_text in text
    assert FAKE_KEY not in report.model_dump_json() and FAKE_KEY not in text
    assert program.traces() == []


def test_sandbox_corpus_covers_every_limit() -> None:
    statuses = {p.sandbox_status for p in SANDBOXED}
    assert {"forbidden", "timeout", "cpu_limit", "memory_limit", "output_limit", "ok"} <= statuses


@needs_bwrap
def test_good_job_streams_events_and_keeps_prints_out_of_the_protocol(tmp_path: Path) -> None:
    events: list[dict] = []
    report = run_in_sandbox(_job(GOOD, steps=300), tmp_path, LIMITS, on_event=events.append)
    assert report.ok and report.result["failure"] is None, report
    assert report.result["calls"] == 300
    answers = [e for e in events if "answer" in e]
    assert [e["answer"] for e in answers] == list(range(300)) and max(e["total"] for e in answers) <= 1.0
    assert [e["calls"] for e in events if "calls" in e] == [100, 200, 300]
    assert "hello from the program" in report.output_tail


def test_worker_environment_is_an_allow_list(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_KEY)
    env = worker_env(tmp_path)
    assert FAKE_KEY not in json.dumps(env)
    assert env["HOME"] == str(tmp_path) and env["OMP_NUM_THREADS"] == "1"


@needs_bwrap
def test_bwrap_alone_blocks_network_and_writes(tmp_path: Path) -> None:
    """Without seccomp, the namespaces still refuse a connection to a real server on the host's 127.0.0.1."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    received: list[socket.socket] = []
    server.settimeout(5)

    def accept() -> None:
        with contextlib.suppress(OSError):
            received.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    source = f"""import socket
def compute_reward(prev, action, state):
    socket.create_connection(("127.0.0.1", {port}), timeout=2)
    return 0.0, {{}}
"""
    report = run_in_sandbox(_job(source), tmp_path / "net", LIMITS, seccomp=False)
    text = " ".join(str(r) for r in reasons_from_report(report)) + str(report.result.get("failure"))
    assert report.ok and ("ConnectionRefusedError" in text or "unreachable" in text), text
    thread.join(timeout=6)
    assert received == []
    server.close()

    write = "def compute_reward(prev, action, state):\n    open('/tmp/pwned_bwrap_alone', 'w')\n    return 0.0, {}\n"
    report = run_in_sandbox(_job(write), tmp_path / "fs", LIMITS, seccomp=False)
    assert report.status == "forbidden" and "read-only file system" in report.describe()
    assert not Path("/tmp/pwned_bwrap_alone").exists()


@pytest.mark.slow
def test_wall_time_kills_a_program_that_swallows_the_call_timeout(tmp_path: Path) -> None:
    source = """def compute_reward(prev, action, state):
    while True:
        try:
            while True:
                pass
        except BaseException:
            pass
"""
    report = run_in_sandbox(_job(source), tmp_path, Limits(wall_seconds=3, cpu_seconds=30))
    assert report.status == "timeout" and "wall-time limit of 3 s" in report.describe()


@needs_seccomp
def test_the_unsafe_mode_still_filters_system_calls(tmp_path: Path, secrets_in_parent: Path) -> None:
    """The plain subprocess a user asks for by name keeps what the worker does to itself: seccomp and a clean
    environment (and promises nothing more)."""
    mode = isolation.UNSAFE
    fork = next(p for p in hostile() if p.name == "fork")
    report = run_in_sandbox(_job(fork.source), tmp_path / "fork", LIMITS, isolation=mode)
    assert report.isolation == mode and report.status == "forbidden", report
    leak = next(p for p in hostile() if p.name == "numpy_private_os_environ")
    report = run_in_sandbox(_job(leak.source), tmp_path / "leak", LIMITS, isolation=mode)
    assert (
        "LEAK:<none>" in str(reasons_from_report(report)) + str(report.result.get("failure"))
        and FAKE_KEY not in report.model_dump_json()
    )
    report = run_in_sandbox(_job(GOOD), tmp_path / "good", LIMITS, isolation=mode)
    assert report.ok and report.result["failure"] is None
    assert not Path("/tmp/pwned_fork").exists()


def test_without_bubblewrap_nothing_runs_unless_asked_for_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(isolation, "_works", lambda mode: mode == isolation.UNSAFE)
    monkeypatch.delenv("AUTOREWARD_SANDBOX", raising=False)
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        choose_isolation()
    monkeypatch.setenv("AUTOREWARD_SANDBOX", isolation.UNSAFE)
    assert choose_isolation() == isolation.UNSAFE
    with pytest.raises(SandboxUnavailable, match="must be one of"):
        choose_isolation("docker")


def test_job_registry() -> None:
    from autoreward.critic.dryrun import run_job

    assert resolve_job("autoreward.critic.dryrun:run_job") is run_job
    with pytest.raises(UnknownJobKind, match="outside autoreward"):
        resolve_job("os:system")


# --- the ordinary-user path -------------------------------------------------------------------------------

TESTER = "autoreward-tester"
PROBE = """import json, os, socket
out = {"env": sorted(os.environ), "uid": os.getuid()}
try:
    socket.create_connection(("1.1.1.1", 53), timeout=1); out["net"] = "open"
except OSError as err:
    out["net"] = type(err).__name__
for path in ("/tmp/pwned_tester", os.environ["HOME"] + "/written"):
    try:
        open(path, "w").write("x"); out[path] = "written"
    except OSError as err:
        out[path] = err.strerror
out["root_listing"] = os.listdir("/root") if os.path.isdir("/root") else None
print(json.dumps(out))
"""


def _ordinary_user() -> pwd.struct_passwd:
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    if shutil.which("useradd") is None or shutil.which("setpriv") is None:
        pytest.skip("running as root without useradd/setpriv: cannot become an ordinary user")
    try:
        return pwd.getpwnam(TESTER)
    except KeyError:
        subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", TESTER], check=True)
        return pwd.getpwnam(TESTER)


def _hand_over(scratch: Path, user: pwd.struct_passwd) -> None:
    """Give ``scratch`` to ``user`` and let them traverse pytest's (root-only) temporary directories to it."""
    os.chown(scratch, user.pw_uid, user.pw_gid)
    for parent in scratch.parents:
        if parent == Path("/tmp") or not parent.is_relative_to("/tmp"):
            break
        parent.chmod(0o755)


def _as_user(user: pwd.struct_passwd, cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    drop = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]
    return [*drop, *cmd]


@needs_bwrap
def test_bwrap_isolation_as_an_ordinary_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same bwrap command line, started by an unprivileged user (user namespaces), isolates just as well."""
    python = shutil.which("python3", path="/usr/bin:/bin")
    if python is None:
        pytest.skip("no system python3 an ordinary user can run")
    user = _ordinary_user()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    _hand_over(scratch, user)
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    env = worker_env(scratch)
    cmd = bwrap_command([python, "-c", PROBE], scratch, env, readable=[])
    done = subprocess.run(_as_user(user, cmd), capture_output=True, text=True, env=env, timeout=30)
    if done.returncode != 0 and "setting up uid map" in done.stderr + done.stdout:
        pytest.skip(f"user namespaces are disabled for ordinary users here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["uid"] == (isolation.NOBODY if isolation._can_drop_to_nobody() else user.pw_uid)
    assert "OPENAI_API_KEY" not in out["env"] and set(out["env"]) <= set(env) | {"PWD"}
    assert out["net"] != "open"
    assert out["/tmp/pwned_tester"] == "Read-only file system"
    assert out[str(scratch) + "/written"] == "written"
    assert out["root_listing"] in ([], None)
    assert not Path("/tmp/pwned_tester").exists()


FULL_RUN = """import json, sys
from pathlib import Path
from autoreward.sandbox.jobs import Job
from autoreward.sandbox.run import run_in_sandbox
job = Job.model_validate_json(sys.argv[1])
print(run_in_sandbox(job, Path(sys.argv[2])).model_dump_json())
"""


@needs_bwrap
@needs_seccomp
@pytest.mark.slow
def test_full_worker_as_an_ordinary_user(tmp_path: Path) -> None:
    """The whole sandboxed dry run started by an unprivileged user, where that user can run this interpreter."""
    import sys

    user = _ordinary_user()
    check = (
        f"import os, sys, autoreward.sandbox; os.stat({str(Path(sys.executable).resolve())!r}); print(sys.base_prefix)"
    )
    probe = subprocess.run(_as_user(user, [sys.executable, "-c", check]), capture_output=True, text=True)
    if probe.returncode != 0 or probe.stdout.strip() != sys.base_prefix:
        pytest.skip(f"an ordinary user cannot run {sys.executable} with this venv (its install is private to root)")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    _hand_over(scratch, user)
    fork = next(p for p in hostile() if p.name == "fork")
    args = [sys.executable, "-c", FULL_RUN, _job(fork.source).model_dump_json(), str(scratch)]
    done = subprocess.run(_as_user(user, args), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["isolation"] == "bwrap" and report["status"] == "forbidden", report
    assert not Path("/tmp/pwned_fork").exists()
