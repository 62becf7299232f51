"""Calls to any LLM through litellm: K answers per call, bounded retries, spend control, and a typed record.

litellm is imported lazily (it costs seconds and would fetch a remote price map), so commands that never call
an LLM stay instant. Retries are ours, not litellm's, so that every attempt is recorded and the back-off is
bounded. Every record is scrubbed of secrets before it leaves this module.
"""

from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, Field

from autoreward.config import HOSTED_SAMPLES, LLMSettings
from autoreward.errors import AutorewardError, first_line
from autoreward.tokens import count_tokens

Role = Literal["system", "user", "assistant"]


class ChatMessage(BaseModel):
    role: Role
    content: str


class Attempt(BaseModel):
    """One HTTP request: which sample slot it served, how it ended, and the wait before the next try."""

    request: int
    number: int
    seconds: float
    status: int | None = None
    error: str | None = None
    wait: float = 0.0


class CallRecord(BaseModel):
    """What one LLM call asked, what came back and what it cost; the run store persists it as is."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    purpose: str
    model: str
    api_base: str | None
    started_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    messages: list[ChatMessage]
    n: int
    temperature: float
    max_tokens: int
    mode: Literal["n", "concurrent"] = "n"
    answers: list[str | None] = Field(default_factory=list)
    finish_reasons: list[str | None] = Field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = None
    latency_s: float = 0.0
    attempts: list[Attempt] = Field(default_factory=list)
    error: str | None = None

    @property
    def retries(self) -> int:
        return sum(1 for a in self.attempts if a.error is not None and a.wait > 0)

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out


class LLMError(AutorewardError):
    """The LLM could not be used; ``record`` (when there is one) holds what happened, for the run store."""

    def __init__(self, message: str, record: CallRecord | None = None) -> None:
        super().__init__(scrub(message))
        self.record = record


class LLMConfigError(LLMError):
    """Retrying cannot help: a missing or refused key, an unknown model, an unreachable api base."""


class LLMUnavailable(LLMError):
    """Time-outs, 429s or 5xx outlasted every retry."""


class BudgetExceeded(AutorewardError):
    """The next call could exceed ``--max-llm-cost`` or ``--max-llm-tokens``: the loop stops here, resumable."""


# ---------------------------------------------------------------------------------------------- secrets

_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", re.IGNORECASE)
_URL_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
REDACTED = "[redacted]"


def secret_values(environ: dict[str, str] | None = None) -> list[str]:
    """Values of variables that look like credentials, longest first (so a prefix never hides the rest)."""
    env = os.environ if environ is None else environ
    found = {v for k, v in env.items() if _SECRET_NAME.search(k) and len(v.strip()) >= 8}
    return sorted(found, key=len, reverse=True)


def scrub(text: str, secrets: Sequence[str] | None = None) -> str:
    """``text`` without any credential value from the environment, nor user:password@ in URLs."""
    for value in secret_values() if secrets is None else secrets:
        text = text.replace(value, REDACTED)
    return _URL_USERINFO.sub(REDACTED + "@", text)


def _scrubbed(record: CallRecord) -> CallRecord:
    return CallRecord.model_validate_json(scrub(record.model_dump_json()))


# ---------------------------------------------------------------------------------------------- budget


@dataclass
class Budget:
    """Spend control for a whole run; ``spent_*`` can be restored from the store when a run resumes."""

    max_cost: float | None = None
    max_tokens: int | None = None
    spent_cost: float = 0.0
    spent_tokens: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def from_settings(cls, settings: LLMSettings) -> Budget:
        return cls(max_cost=settings.max_llm_cost, max_tokens=settings.max_llm_tokens)

    def check(self, tokens: int, cost: float | None) -> None:
        """Refuse a call whose worst case (``tokens``, ``cost``) would pass a limit."""
        with self._lock:
            if self.max_tokens is not None and self.spent_tokens + tokens > self.max_tokens:
                raise BudgetExceeded(
                    f"LLM token budget: {self.spent_tokens} spent + up to {tokens} for the next call > "
                    f"--max-llm-tokens {self.max_tokens}; stopped before the call (raise the limit and resume)"
                )
            if self.max_cost is not None and cost is not None and self.spent_cost + cost > self.max_cost:
                raise BudgetExceeded(
                    f"LLM cost budget: ${self.spent_cost:.4f} spent + up to ${cost:.4f} for the next call > "
                    f"--max-llm-cost {self.max_cost:g}; stopped before the call (raise the limit and resume)"
                )

    def charge(self, record: CallRecord) -> None:
        with self._lock:
            self.spent_tokens += record.tokens
            self.spent_cost += record.cost_usd or 0.0


# ---------------------------------------------------------------------------------------------- litellm


@cache
def _litellm() -> Any:
    """Import litellm once, offline (bundled price map) and quiet (we report errors ourselves)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_LOG", "ERROR")
    import litellm

    # pydantic warns about one of litellm's own TypedDicts when a priced model answers: noise to users
    warnings.filterwarnings("ignore", message=r"Item '\w+' on TypedDict class", category=UserWarning)
    litellm.suppress_debug_info = True
    litellm.set_verbose = False
    litellm.drop_params = True  # a provider without e.g. temperature gets the call without it
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm", "httpx", "openai"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return litellm


def check_model(settings: LLMSettings) -> None:
    """Raise ``LLMConfigError`` now when litellm cannot tell ``settings.model``'s provider (before a run is stored
    that could never make its first call)."""
    _provider(settings)


def _provider(settings: LLMSettings) -> str:
    try:
        return str(_litellm().get_llm_provider(settings.model, api_base=settings.api_base)[1])
    except Exception:
        raise LLMConfigError(
            f"unknown model {settings.model!r}: litellm cannot tell its provider; write it as provider/model, "
            "e.g. openai/gpt-4o, anthropic/claude-3-5-sonnet-20240620, ollama/llama3 (--model or AUTOREWARD_MODEL)"
        ) from None


def _missing_keys(settings: LLMSettings) -> list[str]:
    try:
        info = _litellm().validate_environment(settings.model, api_base=settings.api_base)
    except Exception:
        return []
    return list(info.get("missing_keys") or [])


def _supports_n(settings: LLMSettings, provider: str) -> bool:
    try:
        params = _litellm().get_supported_openai_params(model=settings.model, custom_llm_provider=provider)
    except Exception:
        return False
    return bool(params) and "n" in params


def _price(settings: LLMSettings, tokens_in: int, tokens_out: int) -> float | None:
    """USD for these tokens: the user's prices if given, else litellm's table, else None (unknown)."""
    if settings.input_cost_per_mtok is not None or settings.output_cost_per_mtok is not None:
        per_in, per_out = settings.input_cost_per_mtok or 0.0, settings.output_cost_per_mtok or 0.0
        return (tokens_in * per_in + tokens_out * per_out) / 1e6
    try:
        cost_in, cost_out = _litellm().cost_per_token(
            model=settings.model, prompt_tokens=tokens_in, completion_tokens=tokens_out
        )
    except Exception:
        return None
    return float(cost_in) + float(cost_out)


def _status(err: BaseException) -> int | None:
    status = getattr(err, "status_code", None)
    return int(status) if isinstance(status, int) else None


def _caused_by_connect_error(err: BaseException) -> bool:
    import httpx

    seen: BaseException | None = err
    for _ in range(12):
        if seen is None:
            return False
        if isinstance(seen, httpx.ConnectError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _key_vars(settings: LLMSettings) -> tuple[list[str], bool]:
    """The variables that hold the key, and whether they are missing (else: set, but refused)."""
    missing = _missing_keys(settings)
    if missing:
        return missing, True
    try:
        provider = _provider(settings)
    except LLMConfigError:
        provider = settings.model.split("/", 1)[0]
    var = f"{provider.upper().replace('-', '_')}_API_KEY"
    return [var], var not in os.environ


def _key_hint(settings: LLMSettings) -> str:
    names, missing = _key_vars(settings)
    return f"set {' and '.join(names)}" if missing else f"check {names[0]} (it is set, but the key was refused)"


_MISSING_CREDENTIALS = re.compile(r"missing credentials|api_key client option must be set", re.IGNORECASE)


def _fatal(err: BaseException, settings: LLMSettings) -> LLMConfigError | None:
    """The one-line error for a fault that retrying cannot fix, or None when it may be transient."""
    litellm = _litellm()
    status = _status(err)
    where = f" at {settings.api_base}" if settings.api_base else ""
    if _caused_by_connect_error(err):
        target = settings.api_base or f"the provider of {settings.model}"
        return LLMConfigError(f"cannot connect to {target}: is the server running? (--api-base or AUTOREWARD_API_BASE)")
    refused = isinstance(err, litellm.AuthenticationError | litellm.PermissionDeniedError) or status in (401, 403)
    if not refused and _MISSING_CREDENTIALS.search(str(err)):  # the client library refused before sending
        return LLMConfigError(f"no API key for {settings.model}: {_key_hint(settings)} ({_first_line(err)})")
    if refused:
        return LLMConfigError(
            f"the LLM provider{where} refused the API key for {settings.model} ({status}): {_key_hint(settings)}"
        )
    if isinstance(err, litellm.NotFoundError) or status == 404:
        return LLMConfigError(
            f"model {settings.model!r} not found{where}: check --model or AUTOREWARD_MODEL ({_first_line(err)})"
        )
    if isinstance(err, litellm.ContextWindowExceededError):
        return LLMConfigError(f"the prompt is too long for {settings.model}: {_first_line(err)}")
    if status in (400, 405, 413, 422):
        return LLMConfigError(f"the LLM provider{where} rejected the request ({status}): {_first_line(err)}")
    return None


def _retryable(err: BaseException) -> bool:
    litellm = _litellm()
    transient = (
        litellm.Timeout,
        litellm.RateLimitError,
        litellm.InternalServerError,
        litellm.ServiceUnavailableError,
        litellm.APIConnectionError,
    )
    status = _status(err)
    return isinstance(err, transient) or status in (408, 409, 429) or (status is not None and status >= 500)


def _first_line(err: BaseException) -> str:
    text = first_line(err)
    for prefix in ("litellm.", "OpenAIException - "):
        text = text.replace(prefix, "")
    text = re.sub(r"^(\w+): \1: ", r"\1: ", text)
    return scrub(text)[:300]


def _retry_after(err: BaseException) -> float | None:
    headers = getattr(err, "litellm_response_headers", None) or getattr(getattr(err, "response", None), "headers", None)
    try:
        value = headers.get("retry-after") if headers is not None else None
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def backoff(attempt: int, settings: LLMSettings, rng: random.Random | None = None) -> float:
    """Exponential back-off with 'equal jitter': half the capped delay fixed, half random."""
    cap = min(settings.backoff_max, settings.backoff_base * 2**attempt)
    return cap / 2 + (rng or random).uniform(0, cap / 2)


# ---------------------------------------------------------------------------------------------- calls


@dataclass
class _Answer:
    contents: list[str | None]
    finish_reasons: list[str | None]
    tokens_in: int
    tokens_out: int


def _request(
    kwargs: dict[str, Any], settings: LLMSettings, slot: int, log: list[Attempt], lock: threading.Lock
) -> _Answer:
    """One HTTP request with bounded retries; raises LLMConfigError at once, LLMUnavailable at the end."""
    litellm = _litellm()
    for number in range(settings.max_retries + 1):
        start = time.monotonic()
        try:
            response = litellm.completion(**kwargs)
        except Exception as err:
            attempt = Attempt(request=slot, number=number, seconds=time.monotonic() - start, status=_status(err))
            attempt.error = _first_line(err)
            fatal = _fatal(err, settings)
            last = number == settings.max_retries or fatal is not None or not _retryable(err)
            if not last:
                hinted = _retry_after(err)
                attempt.wait = min(settings.backoff_max, hinted) if hinted else backoff(number, settings)
            with lock:
                log.append(attempt)
            if fatal is not None:
                raise fatal from None
            if last:
                raise LLMUnavailable(_exhausted(settings, log, slot)) from None
            time.sleep(attempt.wait)
            continue
        with lock:
            log.append(Attempt(request=slot, number=number, seconds=time.monotonic() - start))
        usage = getattr(response, "usage", None)
        choices = list(getattr(response, "choices", None) or [])
        return _Answer(
            contents=[c.message.content if c.message else None for c in choices],
            finish_reasons=[getattr(c, "finish_reason", None) for c in choices],
            tokens_in=int(getattr(usage, "prompt_tokens", 0) or 0),
            tokens_out=int(getattr(usage, "completion_tokens", 0) or 0),
        )
    raise AssertionError("unreachable: the loop returns or raises")


def _exhausted(settings: LLMSettings, log: list[Attempt], slot: int) -> str:
    mine = [a for a in log if a.request == slot]
    spent = sum(a.seconds + a.wait for a in mine)
    last = mine[-1].error if mine else "no answer"
    timed_out = bool(mine) and (mine[-1].status == 408 or "timed out" in (last or "").lower())
    if timed_out:
        last = f"every request timed out after {settings.timeout:g} s"
        fix = "raise the time-out or check the server"
    else:
        fix = "try again later or raise max_retries"
    where = settings.api_base or settings.model
    return f"the LLM ({where}) gave no answer after {len(mine)} attempts over {spent:.1f} s: {last}; {fix}"


def _kwargs(
    messages: list[ChatMessage], settings: LLMSettings, n: int, extra_body: dict[str, Any] | None = None
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "model": settings.model,
        "messages": [m.model_dump() for m in messages],
        "temperature": settings.temperature,
        "max_tokens": settings.max_tokens,
        "timeout": settings.timeout,
        "max_retries": 0,  # the openai client's own retries: ours are recorded and bounded
        "num_retries": 0,
    }
    if n > 1:
        kwargs["n"] = n
    if extra_body:  # fields the OpenAI API lacks, sent as they are (e.g. llama.cpp's "grammar")
        kwargs["extra_body"] = extra_body
    if settings.api_base:
        kwargs["api_base"] = settings.api_base
        if _missing_keys(settings):  # a local server needs no key; the client library still wants one
            kwargs["api_key"] = "no-key-set"
    return kwargs


def _estimate(messages: Sequence[ChatMessage], settings: LLMSettings, n: int) -> tuple[int, float | None]:
    """Worst case of a call: every sample pays the prompt and the full ``max_tokens``."""
    prompt = sum(count_tokens(m.content) + 4 for m in messages)
    return n * (prompt + settings.max_tokens), _price(settings, n * prompt, n * settings.max_tokens)


def complete(
    messages: Sequence[ChatMessage | dict[str, str]],
    settings: LLMSettings,
    *,
    n: int | None = None,
    budget: Budget | None = None,
    purpose: str = "design",
    extra_body: dict[str, Any] | None = None,
) -> CallRecord:
    """Ask for ``n`` answers (default ``settings.samples``) and return the scrubbed record of the call.

    One request with ``n`` where the provider takes it (topped up with single requests when a server returns
    fewer choices), else ``n`` concurrent requests. Slots whose request failed after all retries have answer
    None and the record's ``error`` says why; when no slot got an answer the call raises LLMUnavailable.
    """
    n = n if n is not None else (settings.samples or HOSTED_SAMPLES)
    msgs = [m if isinstance(m, ChatMessage) else ChatMessage.model_validate(m) for m in messages]
    provider = _provider(settings)
    if not settings.api_base and (missing := _missing_keys(settings)):
        raise LLMConfigError(f"no API key for {settings.model}: set {' and '.join(missing)}")
    if budget is not None:
        tokens, cost = _estimate(msgs, settings, n)
        if budget.max_cost is not None and cost is None:
            raise LLMConfigError(
                f"--max-llm-cost needs prices for {settings.model}, which litellm does not know: set "
                "input_cost_per_mtok and output_cost_per_mtok in autoreward.toml [llm], or drop the cost limit"
            )
        budget.check(tokens, cost)
    record = CallRecord(
        purpose=purpose,
        model=settings.model,
        api_base=settings.api_base,
        messages=msgs,
        n=n,
        temperature=settings.temperature,
        max_tokens=settings.max_tokens,
        mode="n" if n == 1 or _supports_n(settings, provider) else "concurrent",
    )
    start = time.monotonic()
    try:
        answers, errors = _gather(msgs, settings, n, record, extra_body)
    except LLMError as err:
        record.latency_s = time.monotonic() - start
        record.error = str(err)
        err.record = _scrubbed(record)
        raise
    record.latency_s = time.monotonic() - start
    _fill(record, answers, errors, settings)
    if budget is not None:
        budget.charge(record)
    if not any(a is not None for a in record.answers):
        raise LLMUnavailable(record.error or "the LLM gave no answer", _scrubbed(record))
    return _scrubbed(record)


def _gather(
    msgs: list[ChatMessage], settings: LLMSettings, n: int, record: CallRecord, extra_body: dict[str, Any] | None
) -> tuple[list[_Answer], list[str]]:
    """Run the call's requests; a request that exhausts its retries becomes an error string, not an answer."""
    lock = threading.Lock()
    answers: list[_Answer] = []
    errors: list[str] = []

    def one(slot: int, k: int) -> Callable[[], _Answer]:
        return lambda: _request(_kwargs(msgs, settings, k, extra_body), settings, slot, record.attempts, lock)

    if record.mode == "n":
        first = _run_all([one(0, n)], answers, errors)
        have = sum(len(a.contents) for a in first)
        jobs = [one(slot, 1) for slot in range(1, n - have + 1)] if first else []
        _run_all(jobs, answers, errors)
    else:
        _run_all([one(slot, 1) for slot in range(n)], answers, errors)
    return answers, errors


def _run_all(jobs: list[Callable[[], _Answer]], answers: list[_Answer], errors: list[str]) -> list[_Answer]:
    """Run ``jobs`` concurrently; LLMConfigError propagates, LLMUnavailable is collected into ``errors``."""
    if not jobs:
        return []
    done: list[_Answer] = []
    with ThreadPoolExecutor(max_workers=min(len(jobs), 8), thread_name_prefix="llm") as pool:
        futures = [pool.submit(job) for job in jobs]
        for future in futures:
            try:
                done.append(future.result())
            except LLMUnavailable as err:
                errors.append(str(err))
    answers.extend(done)
    return done


def _fill(record: CallRecord, answers: list[_Answer], errors: list[str], settings: LLMSettings) -> None:
    for a in answers:
        record.answers.extend(a.contents)
        record.finish_reasons.extend(a.finish_reasons)
        record.tokens_in += a.tokens_in
        record.tokens_out += a.tokens_out
    record.answers = record.answers[: record.n]
    record.finish_reasons = record.finish_reasons[: record.n]
    missing = record.n - len(record.answers)
    record.answers.extend([None] * missing)
    record.finish_reasons.extend(["error"] * missing)
    if errors:
        record.error = errors[0]
    record.cost_usd = _price(settings, record.tokens_in, record.tokens_out)


def usage_summary(records: Sequence[CallRecord]) -> dict[str, float | int | None]:
    """Tokens and cost over some calls (an iteration, a run); cost is None if any call's price is unknown."""
    costs = [r.cost_usd for r in records]
    return {
        "calls": len(records),
        "tokens_in": sum(r.tokens_in for r in records),
        "tokens_out": sum(r.tokens_out for r in records),
        "cost_usd": None if any(c is None for c in costs) else float(sum(c or 0.0 for c in costs)),
    }
