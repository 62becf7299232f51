"""``--model local`` as an ordinary OpenAI-compatible endpoint: the CLI's only contact with the embedded model.

A run stores ``model = "local"`` (never the ephemeral port). Each session that drives the loop (``run`` and
``resume``) starts its own server and hands the loop settings naming ``openai/local`` at that server's address,
so litellm talks to it like to any provider: one code path for every model.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from autoreward.config import CONFIG_FILE, LOCAL_MODEL, LLMSettings, read_env, read_toml, with_model_defaults
from autoreward.local_llm.model import QWEN_CODER_1_5B, ensure_model
from autoreward.local_llm.server import ALIAS, INSTALL_HINT, LocalServer, ServerError

# Variables that hold a hosted provider's key: with one of them set, the user meant a hosted model.
PROVIDER_KEYS = (
    "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "MISTRAL_API_KEY", "GROQ_API_KEY",
    "DEEPSEEK_API_KEY", "OPENROUTER_API_KEY", "TOGETHERAI_API_KEY", "TOGETHER_API_KEY", "COHERE_API_KEY",
    "AZURE_API_KEY", "XAI_API_KEY", "FIREWORKS_AI_API_KEY",
)  # fmt: skip
# A CPU model answers one request at a time, so K queued requests take K times as long as one: allow for it.
LOCAL_TIMEOUT_S = 900.0
LOCAL_MAX_TOKENS = 1024  # a filled skeleton is ~300 tokens; more is rambling at ~20 tokens/s
# At temperature 1.0 the 1.5B model invents fields (prev.state.x, state["x"]) and imports; at 0.4 it wrote 3 of
# 4 valid cartpole programs where 1.0 gave 0 of 8. A cap, so that the Critic's re-sampling still sees variety.
LOCAL_TEMPERATURE = 0.4
DEFAULT_NOTICE = (
    "no model configured and no provider key set: using the embedded local model ({model}, on this CPU). "
    "For a stronger one set e.g. OPENAI_API_KEY, or pass --model anthropic/claude-3-5-sonnet-20240620 "
    "(README, Models)"
)


def is_local(settings: LLMSettings) -> bool:
    return settings.model == LOCAL_MODEL


def model_configured(
    flag: str | None, environ: Mapping[str, str] | None = None, config_file: Path | None = None
) -> bool:
    """Whether the user named a model or an endpoint anywhere: a flag, ``AUTOREWARD_*`` or ``autoreward.toml``."""
    env = os.environ if environ is None else environ
    toml = read_toml(config_file if config_file is not None else Path.cwd() / CONFIG_FILE)
    given = read_env(env)
    return bool(flag) or any(name in given or toml.get(name) for name in ("model", "api_base"))


def default_to_local(
    settings: LLMSettings,
    flag: str | None,
    *,
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    notify: Callable[[str], None] | None = None,
) -> LLMSettings:
    """``settings`` with the local model when nothing names a model and no provider key is set (and a notice)."""
    env = os.environ if environ is None else environ
    if model_configured(flag, env, config_file) or any(env.get(k, "").strip() for k in PROVIDER_KEYS):
        return settings
    if notify is not None:
        notify(DEFAULT_NOTICE.format(model=QWEN_CODER_1_5B.filename))
    return settings.model_copy(update={"model": LOCAL_MODEL})


def prepare(settings: LLMSettings) -> None:
    """Fail early, before a run is created: llama-cpp-python missing, or the model's parts missing or corrupt."""
    if not is_local(settings):
        return
    if importlib.util.find_spec("llama_cpp") is None:
        raise ServerError(f"--model local needs llama-cpp-python, which is not installed: {INSTALL_HINT}")
    ensure_model()


@contextlib.contextmanager
def serving(
    settings: LLMSettings, *, log_file: Path | None = None, notify: Callable[[str], None] | None = None
) -> Iterator[LLMSettings]:
    """The settings to call the LLM with while the block runs: unchanged for a hosted model; for ``local``, a
    llama.cpp server started for the block (and stopped after it) and settings that point litellm at it."""
    if not is_local(settings):
        yield settings
        return
    model = ensure_model()
    server = LocalServer(model, log_file=log_file)
    if notify is not None:
        notify(f"starting the local LLM ({model.name}, {server.threads} threads)")
    with server:
        resolved = with_model_defaults(settings)  # skeleton, grammar, re-sampling: decided while still "local"
        yield resolved.model_copy(
            update={
                "model": f"openai/{ALIAS}",
                "api_base": server.api_base,
                "timeout": max(resolved.timeout, LOCAL_TIMEOUT_S),
                "max_tokens": min(resolved.max_tokens, LOCAL_MAX_TOKENS),
                "temperature": min(resolved.temperature, LOCAL_TEMPERATURE),
            }
        )
