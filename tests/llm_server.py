"""A real OpenAI-compatible chat-completions server on 127.0.0.1 that answers from a script.

Tests and benchmarks point litellm at ``server.base_url`` exactly as at a provider. Each request takes the next
item of the script (or calls the script with the request); an item is an answer or a fault (delay, HTTP status,
malformed JSON, empty content). Every request received is recorded, so a test can read the prompt it carried
or count how often it was sent.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """One HTTP response: choices' contents (cycled to the request's ``n``), or a fault."""

    contents: tuple[str | None, ...] = ("",)
    status: int = 200
    delay: float = 0.0
    raw: bytes | None = None  # sent as the body instead of a chat completion (malformed JSON)
    finish_reason: str = "stop"
    ignore_n: bool = False  # answer one choice whatever ``n`` asks, as some servers do
    error: str = ""
    headers: tuple[tuple[str, str], ...] = ()


def answer(*contents: str | None, delay: float = 0.0, finish_reason: str = "stop", ignore_n: bool = False) -> Reply:
    """A successful completion; ``contents`` become the choices, cycled when ``n`` asks for more."""
    return Reply(contents=contents or ("",), delay=delay, finish_reason=finish_reason, ignore_n=ignore_n)


def fault(status: int, message: str = "", delay: float = 0.0, retry_after: float | None = None) -> Reply:
    """An HTTP error with an OpenAI-style error body (500, 429, 401, 404 ...)."""
    headers = (("Retry-After", f"{retry_after:g}"),) if retry_after is not None else ()
    return Reply(status=status, delay=delay, error=message or f"scripted fault {status}", headers=headers)


def delayed(seconds: float, then: Reply | str = "") -> Reply:
    """Wait ``seconds`` before answering (longer than the client's time-out makes a time-out)."""
    reply = then if isinstance(then, Reply) else answer(then)
    return replace(reply, delay=seconds)


def malformed(body: bytes = b'{"id": "x", "choices": [ {"message": ') -> Reply:
    """A 200 response whose body is not valid JSON."""
    return Reply(raw=body)


def empty() -> Reply:
    """A completion whose content is the empty string."""
    return Reply(contents=("",))


@dataclass
class RecordedRequest:
    """What the server received; the Authorization header is kept only as 'was a key sent'."""

    method: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    authorization: str | None
    at: float

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def prompt_text(self) -> str:
        return "\n".join(str(m.get("content", "")) for m in self.messages)


Script = Iterable[Reply | str] | Callable[[RecordedRequest], Reply | str]

_OPENAI_ERROR_TYPES = {401: "invalid_request_error", 404: "invalid_request_error", 429: "rate_limit_exceeded"}


def _tokens(text: str | None) -> int:
    """A rough token count (4 characters a token): enough for usage fields and budget tests."""
    return max(1, len(text or "") // 4)


@dataclass
class _State:
    script: Script = ()
    queue: Iterator[Reply | str] = field(default_factory=lambda: iter(()))
    requests: list[RecordedRequest] = field(default_factory=list)
    models: tuple[str, ...] = ("test-model",)
    api_key: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # the test output stays clean
        return

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            state = self.server.state
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "scripted"} for m in state.models]
            self._json(200, {"object": "list", "data": data})
        else:
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
            return
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._json(400, {"error": {"message": "request body is not JSON", "type": "invalid_request_error"}})
            return
        state = self.server.state
        auth = self.headers.get("Authorization")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("authorization", "api-key")}
        request = RecordedRequest("POST", self.path, body, headers, auth, time.time())
        with state.lock:
            state.requests.append(request)
            reply = self._next_reply(request)
        if reply.delay and state.stopping.wait(reply.delay):
            return
        if state.api_key is not None and auth != f"Bearer {state.api_key}":
            self._error(401, "Incorrect API key provided.", "invalid_api_key")
        elif body.get("model") not in state.models:
            message = f"The model `{body.get('model')}` does not exist or you do not have access to it."
            self._error(404, message, "model_not_found")
        elif reply.status != 200:
            self._error(reply.status, reply.error, None, dict(reply.headers))
        elif reply.raw is not None:
            self._send(200, reply.raw, "application/json")
        elif body.get("stream"):
            self._stream(body, reply)
        else:
            self._json(200, self._completion(body, reply))

    def _next_reply(self, request: RecordedRequest) -> Reply:
        state = self.server.state
        if callable(state.script):
            item = state.script(request)
        else:
            item = next(state.queue, None)
            if item is None:
                return fault(400, f"scripted server: script exhausted after {len(state.requests) - 1} requests")
        return item if isinstance(item, Reply) else answer(item)

    @staticmethod
    def _choices(body: dict[str, Any], reply: Reply) -> list[str | None]:
        n = 1 if reply.ignore_n else max(1, int(body.get("n") or 1))
        return [reply.contents[i % len(reply.contents)] for i in range(n)]

    def _completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        contents = self._choices(body, reply)
        prompt = sum(_tokens(str(m.get("content", ""))) for m in body.get("messages", []))
        completion = sum(_tokens(c) for c in contents)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model"),
            "choices": [
                {
                    "index": i,
                    "message": {"role": "assistant", "content": c},
                    "finish_reason": reply.finish_reason,
                    "logprobs": None,
                }
                for i, c in enumerate(contents)
            ],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
        }

    def _stream(self, body: dict[str, Any], reply: Reply) -> None:
        """Server-sent events: a role chunk, the content in pieces, a finish chunk per choice, then [DONE]."""
        cid, created, model = f"chatcmpl-{uuid.uuid4().hex[:12]}", int(time.time()), body.get("model")

        def chunk(index: int, delta: dict[str, Any], finish: str | None) -> bytes:
            payload = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
            }
            return b"data: " + json.dumps(payload).encode() + b"\n\n"

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            for i, content in enumerate(self._choices(body, reply)):
                self.wfile.write(chunk(i, {"role": "assistant", "content": ""}, None))
                text = content or ""
                for start in range(0, len(text), 16):
                    self.wfile.write(chunk(i, {"content": text[start : start + 16]}, None))
                self.wfile.write(chunk(i, {}, reply.finish_reason))
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return

    def _error(self, status: int, message: str, code: str | None, headers: dict[str, str] | None = None) -> None:
        kind = _OPENAI_ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
        self._json(status, {"error": {"message": message, "type": kind, "param": None, "code": code}}, headers)

    def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _send(self, status: int, data: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (time-out): nothing to tell it
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    state: _State


class ScriptedLLMServer:
    """``with ScriptedLLMServer(["```python ...```"]) as server:`` then ``api_base=server.base_url``.

    ``script`` is a list of replies (strings are plain answers), one per request, or a function of the
    request. ``api_key`` makes the server demand that bearer key (401 otherwise); ``models`` are the model
    names it serves (404 otherwise)."""

    def __init__(
        self, script: Script = (), models: Iterable[str] = ("test-model",), api_key: str | None = None
    ) -> None:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.state = _State(models=tuple(models))
        self._thread: threading.Thread | None = None
        self.set_script(script, api_key=api_key)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._httpd.state.lock:
            return list(self._httpd.state.requests)

    def set_script(self, script: Script, api_key: str | None = None) -> None:
        """Replace the script (and the demanded key) and forget the requests seen so far."""
        state = self._httpd.state
        with state.lock:
            state.script = script
            state.queue = iter(()) if callable(script) else iter(list(script))
            state.requests.clear()
            state.api_key = api_key

    def start(self) -> ScriptedLLMServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="scripted-llm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.state.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
