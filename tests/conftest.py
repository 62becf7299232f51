"""Shared fixtures. Tests talk to real parts: real envs, real processes, real servers on 127.0.0.1."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # `from llm_server import ...` under --import-mode=importlib

from llm_server import ScriptedLLMServer

os.environ.setdefault("MUJOCO_GL", "egl")

# --- the scripted LLM server (tests/llm_server.py), shared by every test that needs an LLM ------------------
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # litellm never fetches its price map in tests


@pytest.fixture(scope="session")
def _shared_llm_server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as server:
        yield server


@pytest.fixture
def llm_server(_shared_llm_server: ScriptedLLMServer) -> Iterator[ScriptedLLMServer]:
    """A real OpenAI-compatible server on 127.0.0.1 with an empty script: call ``set_script`` first."""
    _shared_llm_server.set_script([])
    yield _shared_llm_server
    _shared_llm_server.set_script([])


@pytest.fixture
def llm_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh secret in OPENAI_API_KEY, so a test can prove it never reaches a record, a log or a file."""
    key = f"sk-test-{secrets.token_hex(16)}"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    for var in ("AUTOREWARD_MODEL", "AUTOREWARD_API_BASE"):
        monkeypatch.delenv(var, raising=False)
    return key


@pytest.fixture
def llm_settings(llm_server: ScriptedLLMServer, llm_key: str):  # -> LLMSettings (imported lazily)
    """Settings that reach ``llm_server`` through litellm as a provider, with test-sized time-outs."""
    from autoreward.config import LLMSettings

    return LLMSettings(
        model="openai/test-model",
        api_base=llm_server.base_url,
        samples=3,
        timeout=2.0,
        max_retries=2,
        backoff_base=0.01,
        backoff_max=0.05,
        max_tokens=512,
    )
