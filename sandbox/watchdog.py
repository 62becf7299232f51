"""A per-call time limit on the program that costs nothing per call: a thread samples the main thread's stack.

Twice a second the watchdog looks for the outermost frame of the program (its code has ``program_file`` as
filename) on the main thread's stack and keeps a reference to it: the same frame object seen for ``seconds``
is one call that has not returned (a reference held keeps its id from being reused). Then it reports a timeout
naming the program's current line and ends the worker. Nothing runs inside the program's calls, so training's
per-step cost is unchanged; a program that holds the GIL in C code for good is still ended by the parent's wall
time and the CPU limit.
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

    def watch() -> None:
        held: FrameType | None = None
        since = time.monotonic()
        while True:
            time.sleep(PERIOD_S)
            frame = sys._current_frames().get(main)  # type: ignore[arg-type]
            outer, line = _program_frames(frame, program_file)
            del frame
            now = time.monotonic()
            if outer is None or outer is not held:
                held, since = outer, now
                continue
            if now - since >= seconds:
                report(
                    {
                        "status": "timeout",
                        "error": {
                            "type": "CallTimeout",
                            "message": f"one call of the program ran longer than {seconds:g} s without returning",
                            "line": line,
                        },
                    }
                )
                os._exit(EXIT_CODE)

    thread = threading.Thread(target=watch, name="autoreward-watchdog", daemon=True)
    thread.start()
    return thread
