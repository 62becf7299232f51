"""A seccomp filter for the worker: the second wall, behind the namespaces (and the only one in the fallbacks).

Forbidden system calls are trapped, not failed: a program that catches an ``OSError`` could otherwise carry on
as if nothing happened. The trap raises SIGSYS, ``faulthandler`` writes the Python stack (with the program's
line) to a file in the scratch directory, and the process dies; the parent reads that file for the report.
The handler cannot be replaced or ignored: changing SIGSYS's action (``rt_sigaction``) kills the process outright
(``KILL_PROCESS``, seen by the parent as death by SIGSYS), and the kernel unblocks a trap's SIGSYS itself.
Threads stay allowed (``clone`` with CLONE_THREAD), so numpy, MuJoCo and torch run unchanged; ``clone3``
answers ENOSYS so that glibc falls back to ``clone``, whose flags a filter can read.
"""

from __future__ import annotations

import errno
import faulthandler
import signal
import socket
from pathlib import Path
from typing import IO

CLONE_THREAD = 0x00010000

# Process creation, exec, and kernel interfaces a reward program (or a training loop) has no use for.
TRAPPED_SYSCALLS: tuple[str, ...] = (
    "execve",
    "execveat",
    "fork",
    "vfork",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "bpf",
    "perf_event_open",
    "kexec_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "keyctl",
    "add_key",
    "request_key",
    "setrlimit",
)

_fault_log: IO[str] | None = None  # kept open for the life of the process: faulthandler writes to its fd


def seccomp_available() -> bool:
    """Whether pyseccomp and libseccomp can be loaded here."""
    try:
        import pyseccomp  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def install_filter(fault_log: Path) -> bool:
    """Install the filter for this process and its future threads; False when seccomp is unavailable."""
    global _fault_log
    try:
        import pyseccomp as sc
    except (ImportError, OSError):
        return False
    filt = sc.SyscallFilter(sc.ALLOW)
    for name in TRAPPED_SYSCALLS:
        filt.add_rule(sc.TRAP, name)
    filt.add_rule(sc.TRAP, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
    filt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    filt.add_rule(sc.TRAP, "socket", sc.Arg(0, sc.NE, socket.AF_UNIX))
    filt.add_rule(sc.TRAP, "prlimit64", sc.Arg(2, sc.NE, 0))  # setting a limit; reading one stays allowed
    filt.add_rule(sc.KILL_PROCESS, "rt_sigaction", sc.Arg(0, sc.EQ, signal.SIGSYS))
    _fault_log = fault_log.open("w")
    faulthandler.register(signal.SIGSYS, file=_fault_log, all_threads=False, chain=True)
    filt.load()
    return True
