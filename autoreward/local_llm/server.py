"""llama.cpp's OpenAI-compatible server as a child process on a free 127.0.0.1 port.

autoreward then talks to it through litellm exactly as to a provider, so there is one code path for every model.
The child must never outlive the CLI: it stops when the ``with`` block ends, at interpreter exit (``atexit``),
and, should the CLI be killed, the kernel kills it too (``PR_SET_PDEATHSIG``, set before exec).
Readiness is read from the child's own log (uvicorn prints "Uvicorn running on" once it listens), then
confirmed with one ``GET /v1/models``; the wait is bounded and the child's last log lines explain a failure.
"""

from __future__ import annotations

import atexit
import collections
import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from types import TracebackType

from autoreward.errors import AutorewardError
from autoreward.machine import cores, die_with_parent

READY_LINE = "Uvicorn running on"
ALIAS = "local"  # the name the server gives its one model; litellm calls it openai/local
INSTALL_HINT = (
    'pip install ".[offline]" (llama-cpp-python builds from source: set CMAKE_ARGS="-DGGML_NATIVE=ON -DGGML_BLAS=OFF")'
)


class ServerError(AutorewardError):
    """The local server could not start or stopped answering; the message holds its last log line."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalServer:
    """One llama.cpp server serving ``model``; use as a context manager (``start``/``stop`` also work)."""

    def __init__(
        self,
        model: Path,
        *,
        n_ctx: int = 8192,
        threads: int | None = None,
        host: str = "127.0.0.1",
        ready_timeout: float = 180.0,
        log_file: Path | None = None,
        logits_all: bool = False,
    ) -> None:
        self.model = model
        self.n_ctx = n_ctx
        # Prompt reading scales with threads; generation is memory-bound, and llama.cpp's threads spin while they
        # wait for each other, so on a busy machine (training workers, a second server) every extra generation
        # thread costs more than it gives: measured 0.46 tokens/s with 2 threads on 2 shared cores.
        self.threads = threads or max(1, cores() // 2)
        self.threads_batch = threads or cores()
        self.host = host
        self.ready_timeout = ready_timeout
        self.log_file = log_file
        # llama-cpp-python's server keeps every prompt token's logits by default (only logprobs read them): the
        # output layer then runs over the whole prompt, a vocabulary-sized row per token. Off, only the last:
        # 1.24x faster per skeleton call of 3 samples (bench/local_llm.py --speed 2, medians, load ~4.5).
        self.logits_all = logits_all
        self.port: int | None = None
        self._process: subprocess.Popen[str] | None = None
        self._ready = threading.Event()
        self._tail: collections.deque[str] = collections.deque(maxlen=40)
        self._reader: threading.Thread | None = None

    @property
    def api_base(self) -> str:
        if self.port is None:
            raise ServerError("the local server is not running")
        return f"http://{self.host}:{self.port}/v1"

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "llama_cpp.server", "--model", str(self.model), "--model_alias", ALIAS,
            "--host", self.host, "--port", str(self.port), "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.threads), "--n_threads_batch", str(self.threads_batch),
            "--logits_all", str(self.logits_all).lower(),
        ]  # fmt: skip

    def start(self) -> str:
        """Start the child and return its API base once it answers; a failure is one line and no child left."""
        if importlib.util.find_spec("llama_cpp") is None:
            raise ServerError(f"--model local needs llama-cpp-python, which is not installed: {INSTALL_HINT}")
        self.port = free_port(self.host)
        self._process = subprocess.Popen(
            self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, errors="replace", preexec_fn=die_with_parent,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        atexit.register(self.stop)
        self._reader = threading.Thread(target=self._read_log, name="llama-server-log", daemon=True)
        self._reader.start()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self.api_base

    def _read_log(self) -> None:
        """Drain the child's output (a full pipe would block it), keep the tail, spot the ready line."""
        assert self._process is not None and self._process.stdout is not None
        log = self.log_file.open("a", encoding="utf-8") if self.log_file else None
        try:
            for line in self._process.stdout:
                self._tail.append(line.rstrip())
                if log is not None:
                    log.write(line)
                    log.flush()
                if READY_LINE in line:
                    self._ready.set()
        finally:
            if log is not None:
                log.close()
            self._ready.set()  # end of output: the child exited; the waiter finds out which

    def _wait_ready(self) -> None:
        assert self._process is not None
        if not self._ready.wait(self.ready_timeout):
            raise ServerError(
                f"the local LLM server did not start within {self.ready_timeout:g} s; last log line: "
                f"{self._last_line()}"
            )
        if self._process.poll() is not None:
            raise ServerError(f"the local LLM server exited with code {self._process.returncode}: {self._last_line()}")
        models = self.models()
        if ALIAS not in models:
            raise ServerError(f"the local LLM server at {self.api_base} serves {models}, not {ALIAS!r}")

    def models(self) -> list[str]:
        """The model ids the server lists at ``GET /v1/models``."""
        try:
            with urllib.request.urlopen(f"{self.api_base}/models", timeout=10) as response:
                data = json.load(response)
        except OSError as err:
            raise ServerError(f"the local LLM server at {self.api_base} does not answer: {err}") from None
        return [str(m.get("id")) for m in data.get("data", [])]

    def _last_line(self) -> str:
        lines = [line for line in self._tail if line.strip()]
        return lines[-1] if lines else "(no output)"

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        """Stop the child (SIGTERM, then SIGKILL after 10 s); safe to call twice."""
        process, self._process = self._process, None
        atexit.unregister(self.stop)
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)
        self.port = None

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
