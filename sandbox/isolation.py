"""How the worker is isolated: bubblewrap where it works, weaker fallbacks (with a warning) where it does not.

``bwrap`` (Debian package ``bubblewrap``) gives the worker new namespaces (``--unshare-all``: no network, its
own pids, so the parent's ``/proc/*/environ`` is out of reach), a read-only view of ``/`` with home and
temporary directories hidden behind empty read-only tmpfs mounts, the interpreter and the packages bound back
read-only, and a scratch directory that is the only writable place. It works as root and, where user
namespaces are enabled, as an ordinary user.

Fallbacks, chosen automatically (or forced with ``AUTOREWARD_SANDBOX=bwrap|unshare|none``):

* ``unshare``: ``unshare -n`` as root, ``unshare -r -n`` otherwise. No network, but the file system is the
  host's: writes are stopped only by ordinary permissions, and secrets on disk stay readable.
* ``none``: a plain subprocess. Only the scrubbed environment, the rlimits and the seccomp filter remain.

In every mode the environment is cleared to a short allow-list (no API keys), and the rlimits and the seccomp
filter apply, so fork/exec/network stay blocked even without namespaces.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

Isolation = Literal["bwrap", "unshare", "none"]
MODES: tuple[Isolation, ...] = ("bwrap", "unshare", "none")

# Hidden behind empty tmpfs mounts: where secrets and other users' files live, and where others write.
MASKED: tuple[str, ...] = ("/tmp", "/var/tmp", "/root", "/home", "/run/user", "/dev/shm")

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


_WEAKER: dict[str, str] = {
    "unshare": "bubblewrap is unavailable: the reward worker runs under 'unshare' (no network, but the file "
    "system is protected only by permissions). Install 'bubblewrap' for full isolation.",
    "none": "neither bubblewrap nor unshare works here: the reward worker runs as a plain subprocess (clean "
    "environment, rlimits and seccomp only). Install 'bubblewrap' and enable user namespaces.",
}


class IsolationWarning(UserWarning):
    """The sandbox runs with less isolation than bubblewrap gives."""


def worker_env(scratch: Path) -> dict[str, str]:
    """The worker's whole environment: a fixed allow-list, never the parent's secrets."""
    env = dict(FIXED_ENV)
    env.update({k: os.environ[k] for k in PASSED_ENV if k in os.environ})
    env.setdefault("MUJOCO_GL", "egl")
    env["HOME"] = str(scratch)
    env["TMPDIR"] = str(scratch)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def readable_paths(extra: Iterable[Path] = ()) -> list[Path]:
    """What the worker must read: the interpreter, the venv, every ``sys.path`` entry and our packages."""
    import autoreward
    import autoreward.envs
    import autoreward.sandbox

    candidates = [
        Path(sys.prefix),
        Path(sys.base_prefix),
        Path(sys.exec_prefix),
        Path(sys.executable).resolve().parent.parent,
        *(Path(p) for p in sys.path if p),
        *(Path(m.__file__).resolve().parent.parent for m in (autoreward, autoreward.envs, autoreward.sandbox)),
        *(Path(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p),
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
    return seen


def bwrap_command(
    argv: list[str],
    scratch: Path,
    env: dict[str, str],
    expose: Iterable[Path] = (),
    readable: list[Path] | None = None,
) -> list[str]:
    """The ``bwrap`` command line that runs ``argv`` with ``scratch`` as the only writable directory.

    ``readable`` (default: ``readable_paths(expose)``) is what is bound back, read-only, under the masks.
    """
    cmd = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for masked in MASKED:
        if Path(masked).is_dir():
            cmd += ["--tmpfs", masked]
    for path in readable_paths(expose) if readable is None else readable:
        if any(path.is_relative_to(m) for m in MASKED):
            cmd += ["--ro-bind", str(path), str(path)]
    cmd += ["--bind", str(scratch), str(scratch)]
    for masked in MASKED:
        if Path(masked).is_dir():
            cmd += ["--remount-ro", masked]
    cmd += ["--unshare-all", "--die-with-parent", "--new-session", "--clearenv", "--chdir", str(scratch)]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    return [*cmd, "--", *argv]


def unshare_command(argv: list[str]) -> list[str]:
    """``unshare -n`` as root; an ordinary user needs a user namespace too (``-r``)."""
    return ["unshare", "-n", *argv] if os.geteuid() == 0 else ["unshare", "-r", "-n", *argv]


@functools.cache
def _works(mode: Isolation) -> bool:
    """Probe once per process whether ``mode`` can start a process here (takes a few milliseconds)."""
    if mode == "none":
        return True
    tool = "bwrap" if mode == "bwrap" else "unshare"
    if shutil.which(tool) is None:
        return False
    probe = ["/bin/true"]
    if mode == "bwrap":
        cmd = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-all", "--", *probe]
    else:
        cmd = unshare_command(probe)
    try:
        return subprocess.run(cmd, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def choose_isolation(requested: str | None = None) -> Isolation:
    """The strongest mode that works here, or the one requested (argument or ``AUTOREWARD_SANDBOX``)."""
    requested = requested or os.environ.get("AUTOREWARD_SANDBOX") or None
    if requested is not None:
        if requested not in MODES:
            raise ValueError(f"AUTOREWARD_SANDBOX must be one of {', '.join(MODES)}, not {requested!r}")
        if not _works(requested):  # type: ignore[arg-type]
            raise RuntimeError(f"sandbox mode {requested!r} does not work on this machine")
        return requested  # type: ignore[return-value]
    for mode in MODES:
        if _works(mode):
            if mode != "bwrap":
                warnings.warn(_WEAKER[mode], IsolationWarning, stacklevel=2)
            return mode
    raise AssertionError("unreachable: 'none' always works")


def wrap_command(
    argv: list[str], scratch: Path, mode: Isolation, env: dict[str, str], expose: Iterable[Path] = ()
) -> list[str]:
    """``argv`` wrapped for ``mode``; the environment is passed separately to ``Popen`` outside bwrap."""
    if mode == "bwrap":
        return bwrap_command(argv, scratch, env, expose)
    if mode == "unshare":
        return unshare_command(argv)
    return list(argv)
