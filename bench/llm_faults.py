"""Retry behaviour measured against the fault-injecting test server, through litellm, with the default
back-off (1 s base, doubling, equal jitter, 30 s cap) and a short time-out; last lines `name: value`.

    python bench/llm_faults.py [--timeout 1.0] [--max-retries 4]
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from llm_server import Reply, ScriptedLLMServer, answer, delayed, fault, malformed

from autoreward.config import LLMSettings
from autoreward.llm import CallRecord, LLMError, complete

PROMPT = [{"role": "user", "content": "Write a reward."}]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scenario(server: ScriptedLLMServer, settings: LLMSettings, script: list[Reply | str]) -> str:
    server.set_script(script)
    start = time.monotonic()
    record: CallRecord | None
    try:
        record, outcome = complete(PROMPT, settings, n=1), "answer"
    except LLMError as err:
        record, outcome = err.record, f"{type(err).__name__}: {err}"
    wall = time.monotonic() - start
    attempts = len(record.attempts) if record else 0
    waits = ", ".join(f"{a.wait:.2f}" for a in record.attempts if a.wait) if record else ""
    return f"attempts {attempts}, requests seen {len(server.requests)}, wall {wall:.2f} s, waits [{waits}] -> {outcome}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--max-retries", type=int, default=4)
    args = parser.parse_args()

    os.environ.setdefault("OPENAI_API_KEY", "sk-bench-not-a-real-key")
    results: dict[str, str] = {}
    with ScriptedLLMServer() as server:
        settings = LLMSettings(
            model="openai/test-model", api_base=server.base_url, timeout=args.timeout, max_retries=args.max_retries
        )
        server.set_script(["warm-up"])
        complete(PROMPT, settings, n=1)  # litellm's import and first-call costs stay out of the figures
        results["ok"] = scenario(server, settings, ["ok"])
        results["500,500,ok"] = scenario(server, settings, [fault(500), fault(500), answer("ok")])
        results["429 (Retry-After 0.5),ok"] = scenario(server, settings, [fault(429, retry_after=0.5), "ok"])
        results["malformed JSON,ok"] = scenario(server, settings, [malformed(), "ok"])
        results[f"time-out every time ({args.timeout:g} s)"] = scenario(server, settings, [delayed(30, "late")] * 10)
        results["500 every time"] = scenario(server, settings, [fault(500)] * 10)
        results["401"] = scenario(server, settings, [fault(401, "Incorrect API key provided.")])
        results["404 unknown model"] = scenario(server, settings.model_copy(update={"model": "openai/nope"}), ["never"])
        dead = settings.model_copy(update={"api_base": f"http://127.0.0.1:{_free_port()}/v1"})
        results["unreachable api base"] = scenario(server, dead, [])
    print(f"timeout {args.timeout:g} s, max_retries {args.max_retries}, backoff base 1 s, cap 30 s")
    for name, line in results.items():
        print(f"{name}: {line}")


if __name__ == "__main__":
    main()
