"""What a result was made with, recorded with every run and evaluation so that it can be reproduced.

Package versions, the Python version, the machine's cores, the model id, a hash of every prompt template the
prompts would be rendered from (the user's ``--prompts`` copy where it overrides a shipped one), and the seeds.
"""

from __future__ import annotations

import hashlib
import os
import platform
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = (
    "autoreward", "torch", "stable-baselines3", "gymnasium", "mujoco", "numpy", "litellm", "rliable",
)  # fmt: skip


def versions() -> dict[str, str]:
    """Python's and each package's version ("missing" when not installed)."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "missing"
    return found


def template_hashes(prompts_dir: Path | None = None) -> dict[str, str]:
    """sha256 (first 16 hex digits) of each prompt template as the prompt environment would load it."""
    from autoreward.templates import environment

    env = environment(prompts_dir)
    hashes = {}
    for name in env.list_templates(extensions=["j2", "gbnf"]):
        source, _, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
        hashes[name] = hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]
    return hashes


def provenance(
    *, model: str | None = None, prompts_dir: Path | None = None, seeds: Sequence[int] = (), prompts: bool = True
) -> dict[str, Any]:
    """The record stored as ``meta["provenance"]``: versions, cores, model, template hashes, seeds."""
    from autoreward.training.parallel import cores

    record: dict[str, Any] = {
        "versions": versions(), "platform": platform.platform(terse=True), "cores": cores(),
        "cpu_count": os.cpu_count(), "model": model, "seeds": list(seeds),
    }  # fmt: skip
    if prompts:
        record["prompt_templates"] = template_hashes(prompts_dir)
    return record


def provenance_lines(record: dict[str, Any]) -> list[str]:
    """Short human-readable lines for ``show``."""
    if not record:
        return []
    v = record.get("versions", {})
    lines = [
        "versions: " + ", ".join(f"{k} {v[k]}" for k in v),
        f"machine: {record.get('cores')} cores usable of {record.get('cpu_count')}, {record.get('platform', '?')}",
    ]
    if record.get("model"):
        lines.append(f"model: {record['model']}")
    if record.get("seeds"):
        lines.append("seeds: " + ", ".join(str(s) for s in record["seeds"]))
    templates = record.get("prompt_templates") or {}
    if templates:
        lines.append("prompt templates: " + ", ".join(f"{k} {h}" for k, h in sorted(templates.items())))
    return lines
