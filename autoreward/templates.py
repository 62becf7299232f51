"""One Jinja2 environment for every prompt: the user's ``--prompts DIR`` first, then the shipped templates."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from autoreward.sanitize import fence


def _num(value: float, digits: int = 3) -> str:
    """A compact number for prompts: 3 significant digits, no noise like -0 or 1e+00."""
    value = float(value)
    if value == 0:
        return "0"
    return f"{value:.{digits}g}".replace("e+0", "e").replace("e-0", "e-")


def _gbnf(text: str) -> str:
    """``text`` as a GBNF string literal (llama.cpp grammars read JSON's escapes)."""
    return json.dumps(text, ensure_ascii=False)


@cache
def environment(prompts_dir: Path | None = None) -> jinja2.Environment:
    shipped = str(resources.files("autoreward.prompts"))
    paths = [str(prompts_dir), shipped] if prompts_dir else [shipped]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(paths),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["num"] = _num
    env.filters["gbnf"] = _gbnf
    env.filters["fence"] = fence  # `{{ source|fence }}python`: a fence the program cannot close
    return env


def render(template: str, prompts_dir: Path | None = None, **context: Any) -> str:
    """Render ``template`` (e.g. ``description.j2``); an undefined variable is an error, never blank text."""
    return environment(prompts_dir).get_template(template).render(**context)
