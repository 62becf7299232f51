"""The second red team's sandbox classes (issue 34), each as a hostile program run straight in the worker, in
every isolation mode there is (bubblewrap, and the plain subprocess a user must ask for by name):

the sandbox refuses to run without real isolation; the parent's reader outlives any line and validates every
number; time and space are enforced from outside (stall, forged progress, scratch size, bounded copy-back); the SIGSYS
handler cannot be replaced; no odd string, input or file name of one job raises in the parent.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autoreward.sandbox import isolation
from autoreward.sandbox.channel import MAX_DEPTH
from autoreward.sandbox.isolation import INSTALL, UNSAFE, SandboxUnavailable, choose_isolation
from autoreward.sandbox.jobs import Job
from autoreward.sandbox.limits import Limits
from autoreward.sandbox.run import run_in_sandbox
from autoreward.sandbox.seccomp import seccomp_available
from autoreward.tasks import resolve_task

GOOD_FILE = Path(__file__).parent / "corpus" / "good" / "cartpole_balance.py"
FAKE_KEY = "sk-red-team-FAKE-0123456789"
MODES = [
    pytest.param(
        "bwrap", marks=pytest.mark.skipif(not isolation._works("bwrap"), reason="bwrap cannot make namespaces here")
    ),
    pytest.param(UNSAFE),
]
LIMITS = Limits(wall_seconds=60, cpu_seconds=30)
MIB = 1024 * 1024


def _job(source: str, steps: int = 100, **fields) -> Job:
    card = resolve_task("cartpole-balance")
    params = {"card": card.model_dump(mode="json"), "steps": steps}
    return Job(entry_point="autoreward.critic.dryrun:run_job", source=source, params=params, **fields)


# --- isolation: refuse without bubblewrap, unless asked for by name ---------------------------------------


def test_without_bubblewrap_the_sandbox_refuses_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(isolation, "_works", lambda mode: mode == UNSAFE)
    monkeypatch.delenv("AUTOREWARD_SANDBOX", raising=False)
    with pytest.raises(SandboxUnavailable) as caught:
        choose_isolation()
    assert INSTALL in str(caught.value) and "\n" not in str(caught.value)
    for old in ("unshare", "none", "docker"):  # the weak fallbacks are gone, not silently chosen
        with pytest.raises(SandboxUnavailable, match="must be one of"):
            choose_isolation(old)
    assert choose_isolation(UNSAFE) == UNSAFE


def _cli(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``autoreward check`` on a good program with no bwrap on PATH (a fresh machine before its apt step)."""
    script = Path(sys.executable).parent / "autoreward"
    base = {k: v for k, v in os.environ.items() if k != "AUTOREWARD_SANDBOX"}
    full = {**base, "PATH": str(tmp_path), "OPENAI_API_KEY": FAKE_KEY, **env}
    cmd = [str(script), "check", str(GOOD_FILE), "--task", "cartpole-balance", "--steps", "50"]
    return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300, env=full)


@pytest.mark.slow
def test_cli_refuses_without_bubblewrap_and_warns_once_when_told_to_run_unsafe(tmp_path: Path) -> None:
    refused = _cli(tmp_path)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and INSTALL in errors[0] and "Traceback" not in refused.stderr, refused.stderr
    unsafe = _cli(tmp_path, AUTOREWARD_SANDBOX=UNSAFE)
    assert unsafe.returncode == 0, unsafe.stdout + unsafe.stderr
    warned = [line for line in unsafe.stderr.splitlines() if "WITHOUT isolation" in line]
    assert len(warned) == 1 and INSTALL in warned[0], unsafe.stderr  # several jobs ran; said once
    assert "Warning" not in unsafe.stderr and ".py:" not in unsafe.stderr  # not a raw warning with a source path


# --- the parent's reader ----------------------------------------------------------------------------------

CHANNEL = """import os, stat

def _channels():
    for fd in range(3, 64):
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                os.write(fd, b"")
                yield fd
        except OSError:
            pass

"""
FLOOD = (
    CHANNEL
    + """NESTED = b'{"type": "event", "data": ' + b"[" * 50000 + b"]" * 50000 + b"}\\n"
for fd in _channels():
    for _ in range(40):  # 4 MB: far more than a pipe holds, so a dead reader leaves this write blocked
        os.write(fd, NESTED)
    os.write(fd, b'{"type": "event", "data": {"event": "probe", "big": 1' + b"0" * 400
             + b', "nan": NaN, "inf": -Infinity, "ok": 2.5, "deep": ' + b"[" * 40 + b"]" * 40 + b'}}\\n')

def compute_reward(prev, action, state):
    return 0.0, {}
"""
)


@pytest.mark.parametrize("mode", MODES)
def test_nested_json_and_wild_numbers_neither_kill_the_reader_nor_reach_the_parent(mode: str, tmp_path: Path) -> None:
    events: list[dict] = []
    report = run_in_sandbox(_job(FLOOD), tmp_path, Limits(wall_seconds=30), events.append, isolation=mode)
    assert report.ok, report.describe()  # the reader kept draining: the worker was never blocked
    probe = [e for e in events if e.get("event") == "probe"]
    assert len(probe) == 1 and _depth(probe[0].pop("deep")) <= MAX_DEPTH + 1
    (data,) = probe
    assert data.pop("big") == math.inf and math.isnan(data.pop("nan"))  # a float: no int arithmetic on it
    assert data == {"event": "probe", "inf": -math.inf, "ok": 2.5}


def _depth(value: object) -> int:
    return 1 + max(map(_depth, value), default=0) if isinstance(value, list) else 0


# --- time enforced from outside ---------------------------------------------------------------------------

SLOW_CALLS = """import time

def compute_reward(prev, action, state):
    end = time.monotonic() + 3
    while time.monotonic() < end:  # swallows the in-worker call timer: only the parent can stop this
        try:
            time.sleep(max(0.0, end - time.monotonic()))
        except BaseException:
            pass
    return 0.0, {}
"""


@pytest.mark.parametrize("mode", MODES)
def test_a_worker_that_stops_sending_events_is_stopped_by_the_parent(mode: str, tmp_path: Path) -> None:
    limits = Limits(wall_seconds=60, cpu_seconds=30, stall_seconds=1.5, startup_seconds=30)
    report = run_in_sandbox(_job(SLOW_CALLS), tmp_path, limits, isolation=mode)
    assert report.status == "timeout" and "stalled" in report.describe(), report.describe()


FORGED_PACE = (
    CHANNEL
    + """import time
for fd in _channels():
    for _ in range(15):
        os.write(fd, b'{"type": "event", "data": {"event": "progress", "timesteps": 999999}}\\n')

def compute_reward(prev, action, state):
    time.sleep(0.3)
    return 0.0, {}
"""
)


@pytest.mark.parametrize("mode", MODES)
def test_forged_progress_buys_no_time(mode: str, tmp_path: Path) -> None:
    """Progress events count as liveness only, and no more than the job promised: fifteen forged at once (ten
    promised) buy no time."""
    limits = Limits(wall_seconds=60, cpu_seconds=30, stall_seconds=5, startup_seconds=30, progress_events=10)
    report = run_in_sandbox(_job(FORGED_PACE), tmp_path, limits, isolation=mode)
    assert report.status == "timeout" and "stalled" in report.describe(), report.describe()


CHATTY = """import time

def compute_reward(prev, action, state):
    time.sleep(0.3)
    return 0.0, {}
"""


@pytest.mark.parametrize("mode", MODES)
def test_events_other_than_progress_do_not_keep_a_job_alive(mode: str, tmp_path: Path) -> None:
    """Where the job promises progress events, an answer every 0.3 s is chatter, not progress."""
    limits = Limits(wall_seconds=60, cpu_seconds=30, stall_seconds=3, startup_seconds=30, progress_events=10)
    report = run_in_sandbox(_job(CHATTY), tmp_path, limits, isolation=mode)
    assert report.status == "timeout" and "stalled" in report.describe(), report.describe()


# --- space enforced from outside --------------------------------------------------------------------------

WRITE_SCRATCH = """import os, time
for i in range(12):
    with open(os.path.join(os.environ["HOME"], f"blob{{i}}"), "wb") as fh:
        fh.write(b"x" * (8 * 1024 * 1024))

def compute_reward(prev, action, state):
    time.sleep({sleep})
    return 0.0, {{}}
"""


def _stored_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


@pytest.mark.parametrize("mode", MODES)
def test_the_scratch_has_a_size_quota_and_the_copy_back_a_bound(mode: str, tmp_path: Path) -> None:
    limits = Limits(wall_seconds=60, cpu_seconds=30, scratch_mb=32)
    report = run_in_sandbox(_job(WRITE_SCRATCH.format(sleep=3)), tmp_path / "slow", limits, isolation=mode)
    assert report.status == "output_limit" and "scratch directory" in report.describe(), report.describe()
    assert _stored_bytes(tmp_path / "slow") <= 33 * MIB
    report = run_in_sandbox(_job(WRITE_SCRATCH.format(sleep=0), steps=10), tmp_path / "fast", limits, isolation=mode)
    assert _stored_bytes(tmp_path / "fast") <= 33 * MIB, report.describe()  # ended between two looks: still bounded


# --- the SIGSYS handler -----------------------------------------------------------------------------------

REPLACE_SIGSYS = """import os, signal

def compute_reward(prev, action, state):
    try:
        signal.signal(signal.SIGSYS, lambda *args: None)
    except BaseException:
        pass
    try:
        os.fork()
    except BaseException:
        pass
    return 0.0, {}
"""


@pytest.mark.skipif(not seccomp_available(), reason="pyseccomp/libseccomp2 not installed")
@pytest.mark.parametrize("mode", MODES)
def test_the_sigsys_handler_cannot_be_replaced(mode: str, tmp_path: Path) -> None:
    report = run_in_sandbox(_job(REPLACE_SIGSYS), tmp_path, LIMITS, isolation=mode)
    assert report.status == "forbidden" and "system call the sandbox forbids" in report.describe(), report
    assert not (tmp_path / "pwned").exists()


# --- nothing one job holds raises in the parent -----------------------------------------------------------

SURROGATE_ERROR = 'def compute_reward(prev, action, state):\n    raise ValueError("\\ud800 odd")\n'


@pytest.mark.parametrize("mode", MODES)
def test_lone_surrogates_in_a_program_or_its_errors_never_raise(mode: str, tmp_path: Path) -> None:
    raw = "def compute_reward(prev, action, state):\n    return 0.0, {'\ud800': 0.0}\n"  # a real lone surrogate
    report = run_in_sandbox(_job(raw), tmp_path / "raw", LIMITS, isolation=mode)
    assert report.status == "exception", report.describe()
    report.model_dump_json()
    report = run_in_sandbox(_job(SURROGATE_ERROR), tmp_path / "escaped", LIMITS, isolation=mode)
    text = report.model_dump_json()  # the program's error text, serialisable
    assert "odd" in text


PLANT_PARENT_NAMES = """import os
home = os.environ["HOME"]
open(os.path.join(home, "assessment"), "w").write("a file where the parent makes a folder")
os.makedirs(os.path.join(home, "stats.json", "inside"))

def compute_reward(prev, action, state):
    return 0.0, {}
"""


@pytest.mark.parametrize("mode", MODES)
def test_a_workers_files_never_take_the_parents_names_nor_inputs_break_it(mode: str, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    report = run_in_sandbox(
        _job(PLANT_PARENT_NAMES), scratch, LIMITS, isolation=mode, reserved=("assessment", "stats.json")
    )
    assert report.ok, report.describe()
    assert not (scratch / "assessment").exists() and not (scratch / "stats.json").exists()
    assert "a name the parent keeps" in report.output_tail
    (scratch / "assessment").mkdir()  # the parent's next job can take its name
    swapped = tmp_path / "weights.pt"
    swapped.mkdir()  # an input replaced by a directory
    report = run_in_sandbox(_job(PLANT_PARENT_NAMES, inputs=[swapped]), tmp_path / "in", LIMITS, isolation=mode)
    assert report.status == "crashed" and "weights.pt" in report.describe()
    blocked = tmp_path / "file"
    blocked.write_text("")
    report = run_in_sandbox(_job(PLANT_PARENT_NAMES), blocked / "sub", LIMITS, isolation=mode)
    assert report.status == "crashed", report.describe()
