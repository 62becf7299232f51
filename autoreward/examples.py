"""Worked examples (Text2Reward's few-shot): one short, correct reward program per task family, each written for a
*different* task of that family, shipped as ``prompts/examples/*.py`` and overridable by ``--prompts DIR``."""

from __future__ import annotations

from pathlib import Path

import jinja2

from autoreward.templates import environment

# Card family -> example file stem; suites of the same kind share one. A family not listed (a user's "custom"
# card) gets the classic example that matches its action space.
FAMILY_EXAMPLES = {
    "locomotion": "locomotion",
    "manipulation": "manipulation",
    "fetch": "manipulation",
    "maniskill": "manipulation",
    "metaworld": "manipulation",
    "minigrid": "minigrid",
    "crafter": "crafter",
}


def example_name(family: str, action_kind: str | None, reach: bool = False) -> str:
    """The template path of the example for ``family``. The classic one differs by action space, and where
    ``reach`` (a dense reward whose goal ends the episode: Acrobot) it is a reaching task, since CartPole's pay for
    every good step would pay such a policy for never finishing."""
    classic = "classic_reach" if reach else "classic_box" if action_kind == "box" else "classic_discrete"
    return f"examples/{FAMILY_EXAMPLES.get(family) or classic}.py"


def example_source(family: str, action_kind: str | None, prompts_dir: Path | None = None, reach: bool = False) -> str:
    """The example's text as written (not rendered: it is Python, not a template); "" when a user's prompts
    directory replaced it with an empty file."""
    env = environment(prompts_dir)
    assert env.loader is not None
    try:
        source, _, _ = env.loader.get_source(env, example_name(family, action_kind, reach))
    except jinja2.TemplateNotFound:
        return ""
    return source.strip()
