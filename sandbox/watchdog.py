"""A per-call time limit on the program that costs nothing per call: a thread samples the main thread's stack.

Twice a second the watchdog looks for the outermost frame of the program (its code has the program's filename)
on the main thread's stack and keeps a reference to it: the same frame object seen again is the same call, not
yet returned (a reference held keeps its id from being reused). A call that has used ``seconds`` of the main
thread's CPU time, or ``WALL_FACTOR`` times that in wall time (a call that sleeps or waits), ends the worker
with a report naming the program's current line. CPU time keeps the verdict the same on a loaded machine.
Nothing runs inside the program's calls, so training's per-step cost is unchanged; a program that holds the GIL
in C code for good is still ended by the CPU limit and the parent's wall time.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

PERIOD_S = 0.5
WALL_FACTOR = 6.0
EXIT_CODE = 3


def _program_frames(frame: FrameType | None, program_file: str) -> tuple[FrameType | None, int | None]:
    """The outermost program frame on the stack ending in ``frame``, and the innermost program line."""
    outer, line = None, None
    while frame is not None:
        if frame.f_code.co_filename == program_file:
            outer = frame
            line = frame.f_lineno if line is None else line
        frame = frame.f_back
    return outer, line


def start(program_file: str, seconds: float, report: Callable[[dict[str, Any]], None]) -> threading.Thread:
    """Watch the main thread's calls into the program; ``report`` sends the final report before the exit."""
    main = threading.main_thread().ident
    assert main is not None
    clock = time.pthread_getcpuclockid(main)

    def watch() -> None:
        held: FrameType | None = None
        cpu_start = wall_start = 0.0
        while True:
            time.sleep(PERIOD_S)
            frame = sys._current_frames().get(main)
            outer, line = _program_frames(frame, program_file)
            del frame
            cpu, wall = time.clock_gettime(clock), time.monotonic()
            if outer is None or outer is not held:
                held, cpu_start, wall_start = outer, cpu, wall
                continue
            if cpu - cpu_start >= seconds or wall - wall_start >= WALL_FACTOR * seconds:
                message = (
                    f"one call of the program ran longer than {seconds:g} s of CPU time "
                    f"({WALL_FACTOR * seconds:g} s in all) without returning"
                )
                report({"status": "timeout", "error": {"type": "CallTimeout", "message": message, "line": line}})
                os._exit(EXIT_CODE)

    thread = threading.Thread(target=watch, name="autoreward-watchdog", daemon=True)
    thread.start()
    return thread
