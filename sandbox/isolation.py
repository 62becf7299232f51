"""How the worker is isolated: bubblewrap, or nothing at all when the user explicitly accepts that.

``bwrap`` (Debian package ``bubblewrap``) is the only sandbox. It gives the worker new namespaces
(``--unshare-all``: no network, its own pids, so the parent's ``/proc/*/environ`` is out of reach, and its own
``/proc``) and a file system built from nothing: the system's programs and libraries (``/usr``), the few ``/etc``
entries the loader, GL and fonts read, the interpreter and its packages, the package sources when installed
editable, and the job's fresh work directory, the only writable place. ``/`` is read-only; homes, root-only files
(``/etc/shadow``), the run store and any checkout beyond the package sources are simply not there. Where a user
namespace can be made, the worker runs as ``nobody``.

Without working bubblewrap, ``choose_isolation`` refuses (``SandboxUnavailable``, one line that says how to
install it). There is no weaker automatic fallback: ``unshare`` needs the same user namespaces bwrap needs, and
without a fresh mount and pid namespace a program reads the CLI's ``/proc/<ppid>/environ`` and writes host files.
``AUTOREWARD_SANDBOX=unsafe-subprocess`` runs the worker as a plain subprocess; it guarantees only what the worker
does to itself (an environment cleared to a short allow-list, the rlimits, the seccomp filter against process
creation, exec and network sockets), NOT a file view: the program can read and write whatever the user can,
including other processes' ``/proc/<pid>/environ``. It is for machines that run nothing but trusted programs,
and is said once per process as one warning line.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from autoreward._layout import MAPPED
from autoreward.errors import AutorewardError

Isolation = Literal["bwrap", "unsafe-subprocess"]
MODES: tuple[Isolation, ...] = ("bwrap", "unsafe-subprocess")
UNSAFE: Isolation = "unsafe-subprocess"
INSTALL = "sudo apt-get install bubblewrap"

# The system part of the worker's file view (read-only): programs, libraries, and what the dynamic loader,
# EGL/OSMesa and fontconfig read from /etc. Nothing else of the host's /etc (passwd, shadow, ssh, ...).
SYSTEM_PATHS: tuple[str, ...] = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt/conda")
ETC_PATHS: tuple[str, ...] = (
    "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/fonts",
    "/etc/glvnd", "/etc/localtime", "/etc/nsswitch.conf", "/etc/mime.types",
)  # fmt: skip
# Empty and read-only inside, so that programs expecting them find them.
EMPTY_DIRS: tuple[str, ...] = ("/tmp", "/var/tmp", "/home", "/root", "/run")
NOBODY = 65534

# The only environment the worker gets; everything else, API keys included, stays outside.
PASSED_ENV: tuple[str, ...] = ("MUJOCO_GL", "PYOPENGL_PLATFORM", "LANG", "TZ")
FIXED_ENV: dict[str, str] = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
}


log = logging.getLogger(__name__)


class SandboxUnavailable(AutorewardError):
    """No isolation that may run generated code works here, or ``AUTOREWARD_SANDBOX`` names an unknown mode."""


def worker_env(scratch: Path) -> dict[str, str]:
    """The worker's whole environment: a fixed allow-list, never the parent's secrets."""
    env = dict(FIXED_ENV)
    env.update({k: os.environ[k] for k in PASSED_ENV if k in os.environ})
    env.setdefault("MUJOCO_GL", "egl")
    env["HOME"] = str(scratch)
    env["TMPDIR"] = str(scratch)
    return env


@functools.cache
def _worker_sys_path() -> tuple[str, ...]:
    """The ``sys.path`` of ``python -I`` here (stdlib, site-packages, what ``.pth`` files add); asked once."""
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-c", "import json, sys; print(json.dumps(sys.path))"],
            capture_output=True, text=True, timeout=60, env=dict(FIXED_ENV), check=True,
        )  # fmt: skip
        return tuple(json.loads(done.stdout))
    except (OSError, ValueError, subprocess.SubprocessError):
        return tuple(sys.path)


def _package_dirs() -> list[Path]:
    """Where our packages live: inside site-packages when installed; when installed editable, the four source
    folders (``autoreward/``, ``envs/``, ``sandbox/``, ``prompts/``), never the rest of the checkout."""
    dirs: list[Path] = []
    for name in ("autoreward", *(f"autoreward.{folder}" for folder in MAPPED)):
        spec = importlib.util.find_spec(name)
        dirs += [Path(p) for p in (spec.submodule_search_locations or [])] if spec is not None else []
    return dirs


def readable_paths(extra: Iterable[Path] = ()) -> list[Path]:
    """What the worker must read besides the system: the interpreter, the worker's ``sys.path``, our packages and
    ``extra`` (a user's card folder)."""
    candidates = [
        Path(sys.prefix),
        Path(sys.base_prefix),
        Path(sys.exec_prefix),
        Path(sys.executable).resolve().parent.parent,
        *(Path(p) for p in _worker_sys_path() if p),
        *_package_dirs(),
        *extra,
    ]
    seen: list[Path] = []
    for path in candidates:
        try:
            if not path.exists():
                continue  # stale sys.path entries, or paths this user may not even look at
            path = path.resolve()
        except OSError:
            continue
        if path not in seen and path != Path("/"):
            seen.append(path)
    return [p for p in seen if not any(p != q and p.is_relative_to(q) for q in seen)]


def _system_view() -> list[str]:
    """bwrap arguments for the read-only system part: symlinks (merged /usr) stay symlinks."""
    args: list[str] = []
    for name in (*SYSTEM_PATHS, *ETC_PATHS):
        path = Path(name)
        if path.is_symlink() and name in SYSTEM_PATHS:
            args += ["--symlink", os.readlink(path), name]
        elif path.exists():
            args += ["--ro-bind", name, name]
    return args


@functools.cache
def _can_drop_to_nobody() -> bool:
    """Whether bwrap can run the worker as ``nobody`` in a user namespace here."""
    cmd = ["bwrap", *_system_view(), "--unshare-all", "--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY),
           "--", "/bin/true"]  # fmt: skip
    try:
        return subprocess.run(cmd, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def bwrap_command(
    argv: list[str],
    scratch: Path,
    env: dict[str, str],
    expose: Iterable[Path] = (),
    readable: list[Path] | None = None,
) -> list[str]:
    """The ``bwrap`` command line that runs ``argv`` with ``scratch`` as the only writable directory.

    The view starts empty: the system part, ``readable`` (default: ``readable_paths(expose)``) read-only, empty
    read-only ``EMPTY_DIRS``, and ``scratch``. The working directory is ``/`` (read-only)."""
    cmd = ["bwrap", *_system_view(), "--dev", "/dev", "--proc", "/proc"]
    for empty in EMPTY_DIRS:
        cmd += ["--tmpfs", empty]
    for path in readable_paths(expose) if readable is None else readable:
        cmd += ["--ro-bind", str(path), str(path)]
    cmd += ["--bind", str(scratch), str(scratch)]
    for empty in EMPTY_DIRS:
        cmd += ["--remount-ro", empty]
    cmd += ["--remount-ro", "/", "--unshare-all", "--die-with-parent", "--new-session", "--clearenv", "--chdir", "/"]
    if _can_drop_to_nobody():
        cmd += ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY)]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    return [*cmd, "--", *argv]


@functools.cache
def _works(mode: Isolation) -> bool:
    """Probe once per process whether ``mode`` can start a process here (takes a few milliseconds)."""
    if mode == UNSAFE:
        return True
    if shutil.which("bwrap") is None:
        return False
    cmd = ["bwrap", *_system_view(), "--dev", "/dev", "--proc", "/proc", "--unshare-all", "--", "/bin/true"]
    try:
        return subprocess.run(cmd, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@functools.cache
def _warn_unsafe() -> None:
    """Said once per process, as one line."""
    log.warning(
        "AUTOREWARD_SANDBOX=%s: generated reward code runs WITHOUT isolation (it can read and write your files); "
        "install bubblewrap (%s) and unset it",
        UNSAFE,
        INSTALL,
    )


def choose_isolation(requested: str | None = None) -> Isolation:
    """bubblewrap, or the unsafe plain subprocess when asked for by name (argument or ``AUTOREWARD_SANDBOX``);
    anything else raises ``SandboxUnavailable`` with the fix."""
    requested = requested or os.environ.get("AUTOREWARD_SANDBOX") or "bwrap"
    if requested not in MODES:
        raise SandboxUnavailable(f"AUTOREWARD_SANDBOX must be one of {', '.join(MODES)}, not {requested!r}")
    if requested == UNSAFE:
        _warn_unsafe()
        return UNSAFE
    if not _works("bwrap"):
        raise SandboxUnavailable(
            f"bubblewrap cannot isolate the reward worker here: install it with `{INSTALL}` (and allow user "
            f"namespaces), or set AUTOREWARD_SANDBOX={UNSAFE} to run generated code without isolation"
        )
    return "bwrap"


def wrap_command(
    argv: list[str], scratch: Path, mode: Isolation, env: dict[str, str], expose: Iterable[Path] = ()
) -> list[str]:
    """``argv`` wrapped for ``mode``; the environment is passed separately to ``Popen`` outside bwrap."""
    if mode == "bwrap":
        return bwrap_command(argv, scratch, env, expose)
    return list(argv)
