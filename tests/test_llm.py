"""litellm calls against the real scripted server: samples, retries, faults, secrets, budget, settings."""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path

import pytest
from llm_server import ScriptedLLMServer, answer, delayed, fault, malformed

from autoreward.config import LLMSettings, load_settings
from autoreward.errors import AutorewardError
from autoreward.llm import (
    Budget,
    BudgetExceeded,
    LLMConfigError,
    LLMUnavailable,
    backoff,
    complete,
    scrub,
    usage_summary,
)

PROMPT = [{"role": "system", "content": "You write rewards."}, {"role": "user", "content": "Write one."}]


def test_n_samples_in_one_request(llm_server: ScriptedLLMServer, llm_settings: LLMSettings) -> None:
    llm_server.set_script([answer("a", "b", "c")])
    record = complete(PROMPT, llm_settings, n=3)
    assert record.answers == ["a", "b", "c"]
    assert record.mode == "n"
    assert [r.body["n"] for r in llm_server.requests] == [3]
    sent = llm_server.requests[0].body
    assert sent["messages"] == PROMPT
    assert sent["temperature"] == llm_settings.temperature and sent["max_tokens"] == llm_settings.max_tokens
    assert record.tokens_in > 0 and record.tokens_out > 0 and record.latency_s > 0
    assert record.model == "openai/test-model" and record.cost_usd is None  # litellm has no price for it
    assert [m.content for m in record.messages] == [m["content"] for m in PROMPT]


def test_server_that_ignores_n_is_topped_up(llm_server: ScriptedLLMServer, llm_settings: LLMSettings) -> None:
    llm_server.set_script([answer("first", ignore_n=True), "second", "third"])
    record = complete(PROMPT, llm_settings, n=3)
    assert sorted(a or "" for a in record.answers) == ["first", "second", "third"]
    assert [r.body.get("n") for r in llm_server.requests] == [3, None, None]


def test_provider_without_n_gets_concurrent_requests(llm_server: ScriptedLLMServer, llm_settings: LLMSettings) -> None:
    llm_server.set_script(["x", "y", "z"])
    settings = llm_settings.model_copy(update={"model": "xinference/test-model"})  # litellm: no `n` there
    record = complete(PROMPT, settings, n=3)
    assert record.mode == "concurrent"
    assert sorted(a or "" for a in record.answers) == ["x", "y", "z"]
    assert len(llm_server.requests) == 3 and all("n" not in r.body for r in llm_server.requests)


def test_retries_500_then_succeeds(llm_server: ScriptedLLMServer, llm_settings: LLMSettings) -> None:
    llm_server.set_script([fault(500), fault(503), answer("ok")])
    record = complete(PROMPT, llm_settings, n=1)
    assert record.answers == ["ok"]
    assert len(llm_server.requests) == 3
    assert [a.status for a in record.attempts] == [500, 503, None]
    assert record.retries == 2
    assert all(0 < a.wait <= llm_settings.backoff_max for a in record.attempts[:2])


def test_malformed_json_is_retried(llm_server: ScriptedLLMServer, llm_settings: LLMSettings) -> None:
    llm_server.set_script([malformed(), answer("ok")])
    assert complete(PROMPT, llm_settings, n=1).answers == ["ok"]
    assert len(llm_server.requests) == 2


def test_429_honours_retry_after_within_the_cap(llm_server: ScriptedLLMServer, llm_settings: LLMSettings) -> None:
    llm_server.set_script([fault(429, retry_after=0.03), answer("ok")])
    record = complete(PROMPT, llm_settings, n=1)
    assert record.answers == ["ok"]
    assert record.attempts[0].status == 429 and record.attempts[0].wait == pytest.approx(0.03)


def test_retries_are_bounded(llm_server: ScriptedLLMServer, llm_settings: LLMSettings) -> None:
    llm_server.set_script([fault(500)] * 10)
    with pytest.raises(LLMUnavailable) as caught:
        complete(PROMPT, llm_settings, n=1)
    assert len(llm_server.requests) == llm_settings.max_retries + 1
    assert caught.value.record is not None and len(caught.value.record.attempts) == llm_settings.max_retries + 1


def test_timeout_then_clear_error(llm_server: ScriptedLLMServer, llm_settings: LLMSettings) -> None:
    settings = llm_settings.model_copy(update={"timeout": 0.3, "max_retries": 1})
    llm_server.set_script([delayed(3, "late"), delayed(3, "late")])
    with pytest.raises(LLMUnavailable) as caught:
        complete(PROMPT, settings, n=1)
    message = str(caught.value)
    assert "\n" not in message
    assert "2 attempts" in message and "timed out" in message.lower() and "time-out" in message
    assert len(llm_server.requests) == 2
    assert caught.value.record is not None and caught.value.record.error == message


def test_auth_failure_stops_at_once_and_names_the_variable(llm_key: str, llm_settings: LLMSettings) -> None:
    with ScriptedLLMServer(["never sent"], api_key="sk-the-right-key-0000") as server:
        settings = llm_settings.model_copy(update={"api_base": server.base_url})
        with pytest.raises(LLMConfigError) as caught:
            complete(PROMPT, settings, n=2)
        assert len(server.requests) == 1  # not retried
        assert server.requests[0].authorization == f"Bearer {llm_key}"
    message = str(caught.value)
    assert "OPENAI_API_KEY" in message and "\n" not in message
    assert llm_key not in message


def test_missing_key_names_the_variable_without_a_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    settings = LLMSettings(model="anthropic/claude-3-5-sonnet-20240620")
    with pytest.raises(LLMConfigError, match="set ANTHROPIC_API_KEY"):
        complete(PROMPT, settings, n=1)


def test_unknown_model(llm_server: ScriptedLLMServer, llm_settings: LLMSettings) -> None:
    llm_server.set_script(["never"])
    settings = llm_settings.model_copy(update={"model": "openai/no-such-model"})
    with pytest.raises(LLMConfigError, match=r"model 'openai/no-such-model' not found.*--model"):
        complete(PROMPT, settings, n=1)
    assert len(llm_server.requests) == 1


def test_model_without_provider(llm_settings: LLMSettings) -> None:
    settings = llm_settings.model_copy(update={"model": "surely-not-a-model", "api_base": None})
    with pytest.raises(LLMConfigError, match="provider/model"):
        complete(PROMPT, settings, n=1)


def test_unreachable_api_base_stops_at_once(llm_settings: LLMSettings) -> None:
    with socket.socket() as sock:  # a port that was just free: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = llm_settings.model_copy(update={"api_base": f"http://127.0.0.1:{port}/v1"})
    with pytest.raises(LLMConfigError, match=rf"cannot connect to http://127.0.0.1:{port}/v1.*--api-base") as caught:
        complete(PROMPT, settings, n=1)
    assert caught.value.record is not None and len(caught.value.record.attempts) == 1


def test_partial_failure_keeps_the_answers(llm_server: ScriptedLLMServer, llm_settings: LLMSettings) -> None:
    llm_server.set_script([answer("one", ignore_n=True), *[fault(500)] * 3])
    record = complete(PROMPT, llm_settings.model_copy(update={"max_retries": 2}), n=2)
    assert record.answers == ["one", None] and record.finish_reasons[1] == "error"
    assert record.error is not None and "3 attempts" in record.error


def test_key_never_reaches_records_or_files(
    llm_server: ScriptedLLMServer,
    llm_settings: LLMSettings,
    llm_key: str,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Even an answer or an error that echoes the key is scrubbed before anything can store it."""
    llm_server.set_script(
        [answer(f"here is your key {llm_key}"), fault(500, f"bad key {llm_key}"), fault(401, f"key {llm_key}")]
    )
    caplog.set_level(logging.DEBUG)
    stored: list[str] = []
    record = complete(PROMPT, llm_settings, n=1)
    stored.append(record.model_dump_json())
    with pytest.raises(LLMConfigError) as caught:
        complete(PROMPT, llm_settings, n=1)
    assert caught.value.record is not None
    stored += [caught.value.record.model_dump_json(), str(caught.value)]
    for i, text in enumerate(stored):
        (tmp_path / f"record{i}.json").write_text(text)
    assert "[redacted]" in record.answers[0]
    assert all(llm_key not in p.read_text() for p in tmp_path.iterdir())
    assert all(r.authorization == f"Bearer {llm_key}" for r in llm_server.requests)  # it was really used
    printed = capfd.readouterr()
    assert printed.out == "" and printed.err == ""  # litellm's own banners and logs stay silent
    assert llm_key not in caplog.text


def test_scrub_removes_url_credentials() -> None:
    assert scrub("http://user:pw@host/v1", secrets=[]) == "http://[redacted]@host/v1"


def test_budget_refuses_before_any_request(llm_server: ScriptedLLMServer, llm_settings: LLMSettings) -> None:
    llm_server.set_script(["never"])
    budget = Budget(max_tokens=llm_settings.max_tokens * 3 - 1)
    with pytest.raises(BudgetExceeded, match="--max-llm-tokens"):
        complete(PROMPT, llm_settings, n=3, budget=budget)
    assert llm_server.requests == [] and budget.spent_tokens == 0


def test_budget_charges_and_stops_the_next_call(llm_server: ScriptedLLMServer, llm_settings: LLMSettings) -> None:
    priced = llm_settings.model_copy(update={"input_cost_per_mtok": 1000.0, "output_cost_per_mtok": 1000.0})
    one_call = (100 + priced.max_tokens) * 1000.0 / 1e6  # generous estimate of a 1-sample call's worst case
    budget = Budget(max_cost=one_call * 1.5)
    llm_server.set_script(["a", "b"])
    record = complete(PROMPT, priced, n=1, budget=budget)
    assert record.cost_usd == pytest.approx((record.tokens_in + record.tokens_out) * 1000.0 / 1e6)
    assert budget.spent_cost == pytest.approx(record.cost_usd)
    assert budget.spent_tokens == record.tokens
    budget.spent_cost = one_call  # as if a resumed run had spent this already
    with pytest.raises(BudgetExceeded, match="--max-llm-cost"):
        complete(PROMPT, priced, n=1, budget=budget)
    assert len(llm_server.requests) == 1
    summary = usage_summary([record])
    assert summary["calls"] == 1 and summary["cost_usd"] == pytest.approx(record.cost_usd)


def test_cost_limit_needs_a_price(llm_server: ScriptedLLMServer, llm_settings: LLMSettings) -> None:
    with pytest.raises(LLMConfigError, match="input_cost_per_mtok"):
        complete(PROMPT, llm_settings, n=1, budget=Budget(max_cost=1.0))
    assert llm_server.requests == []


def test_backoff_is_exponential_jittered_and_bounded() -> None:
    settings = LLMSettings(backoff_base=1.0, backoff_max=8.0)
    waits = [backoff(k, settings) for k in range(10)]
    assert all(min(8.0, 2**k) / 2 <= w <= min(8.0, 2**k) for k, w in enumerate(waits))
    assert max(waits) <= 8.0
    assert len({round(backoff(3, settings), 9) for _ in range(20)}) > 1  # jitter


@pytest.mark.filterwarnings("ignore:Item 'summary' on TypedDict:UserWarning")  # litellm's own types
def test_streaming_through_litellm(llm_server: ScriptedLLMServer, llm_key: str) -> None:
    """The server's SSE stream, read by litellm as from a provider (for benchmarks and later callers)."""
    from autoreward.llm import _litellm

    text = "```python\ndef compute_reward(prev, action, state):\n    return 0.0, {}\n```"
    llm_server.set_script([answer(text)])
    chunks = _litellm().completion(
        model="openai/test-model", api_base=llm_server.base_url, messages=PROMPT, stream=True, timeout=2
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == text
    assert llm_server.requests[0].body["stream"] is True


def test_server_lists_models(llm_server: ScriptedLLMServer) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{llm_server.base_url}/models", timeout=2) as response:
        assert [m["id"] for m in json.load(response)["data"]] == ["test-model"]


def test_settings_precedence(tmp_path: Path) -> None:
    toml = tmp_path / "autoreward.toml"
    toml.write_text('[llm]\nmodel = "openai/from-toml"\ntemperature = 0.2\nsamples = 2\napi_base = "http://toml"\n')
    env = {"AUTOREWARD_MODEL": "openai/from-env", "AUTOREWARD_API_BASE": "http://env", "AUTOREWARD_SAMPLES": "5"}
    settings = load_settings({"model": "openai/from-flag", "samples": None}, config_file=toml, environ=env)
    assert settings.model == "openai/from-flag"  # flag over env over toml
    assert settings.api_base == "http://env" and settings.samples == 5  # env over toml; None flag = not given
    assert settings.temperature == 0.2  # toml over default
    assert settings.max_tokens == LLMSettings().max_tokens  # default
    assert load_settings(config_file=tmp_path / "absent.toml", environ={}) == LLMSettings()


def test_prompts_dir_in_the_file_is_relative_to_it(tmp_path: Path) -> None:
    (tmp_path / "my-prompts").mkdir()
    toml = tmp_path / "autoreward.toml"
    toml.write_text('[llm]\nprompts_dir = "my-prompts"\n')
    assert load_settings(config_file=toml, environ={}).prompts_dir == tmp_path / "my-prompts"
    with pytest.raises(AutorewardError, match=r"environment: prompts_dir .*nowhere is not a directory"):
        load_settings(config_file=toml, environ={"AUTOREWARD_PROMPTS": str(tmp_path / "nowhere")})


def test_settings_errors_name_their_source(tmp_path: Path) -> None:
    toml = tmp_path / "autoreward.toml"
    toml.write_text("[llm]\nmodle = 'x'\n")
    with pytest.raises(AutorewardError, match=r"unknown setting \[llm\].modle"):
        load_settings(config_file=toml, environ={})
    with pytest.raises(AutorewardError, match=r"environment: setting samples \(AUTOREWARD_SAMPLES\)"):
        load_settings(config_file=tmp_path / "none.toml", environ={"AUTOREWARD_SAMPLES": "many"})
    with pytest.raises(AutorewardError, match="flags: setting temperature"):
        load_settings({"temperature": 9.0}, config_file=tmp_path / "none.toml", environ={})


@pytest.mark.parametrize("provider", ["openai", "hosted_vllm", "lm_studio"])
def test_openai_compatible_providers(llm_server: ScriptedLLMServer, llm_settings: LLMSettings, provider: str) -> None:
    llm_server.set_script([answer("p", "q")])
    record = complete(PROMPT, llm_settings.model_copy(update={"model": f"{provider}/test-model"}), n=2)
    assert record.answers == ["p", "q"] and llm_server.requests[0].body["model"] == "test-model"


def test_client_side_missing_credentials_is_not_retried(
    llm_server: ScriptedLLMServer, llm_settings: LLMSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("OPENAI_API_KEY", "XINFERENCE_API_KEY", "XINFERENCE_ADMIN_KEY"):
        monkeypatch.delenv(var, raising=False)
    llm_server.set_script(["never"])
    with pytest.raises(LLMConfigError, match="no API key for xinference/test-model: set XINFERENCE_API_KEY"):
        complete(PROMPT, llm_settings.model_copy(update={"model": "xinference/test-model"}), n=1)
    assert llm_server.requests == []


@pytest.mark.filterwarnings("ignore:Item 'summary' on TypedDict:UserWarning")  # litellm's own types
def test_cost_from_litellms_price_table(llm_key: str, llm_settings: LLMSettings) -> None:
    """A model litellm has a price for (served here by the test server) gets its cost recorded."""
    with ScriptedLLMServer([answer("a", "b")], models=("gpt-4o-mini",)) as server:
        settings = llm_settings.model_copy(update={"model": "openai/gpt-4o-mini", "api_base": server.base_url})
        budget = Budget(max_cost=1.0)
        record = complete(PROMPT, settings, n=2, budget=budget)
    per_in, per_out = 0.15 / 1e6, 0.60 / 1e6  # USD per token, gpt-4o-mini in litellm's bundled table
    assert record.cost_usd == pytest.approx(record.tokens_in * per_in + record.tokens_out * per_out)
    assert budget.spent_cost == pytest.approx(record.cost_usd) and record.cost_usd > 0
