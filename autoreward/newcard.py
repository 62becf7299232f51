"""``autoreward new``: a task card from an env id and one sentence of intent.

The fitness is the ground truth of every run, so the model only proposes it: the expression must read fields the
env's State has, must evaluate on the env's real States in a sandboxed worker, and random play must not already
meet the threshold. The card is shown (or written) for the user to read; nothing here starts a run.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from autoreward.config import LLMSettings
from autoreward.describe import describe
from autoreward.envs.make import check_card_env
from autoreward.errors import AutorewardError, TaskError
from autoreward.llm import complete
from autoreward.sanitize import clean
from autoreward.tasks import FitnessExpr, TaskCard
from autoreward.templates import render
from autoreward.training.random_policy import random_fitness

RANDOM_EPISODES = 5
_NOT_KEBAB = re.compile(r"[^a-z0-9]+")


class CardDraft(BaseModel):
    """What the model answers: the fitness, its threshold, a budget and a name."""

    name: str = ""
    expr: str
    reduce: str = "mean"
    unit: str = ""
    success_threshold: float
    timesteps: int = Field(gt=0)
    why: str = ""


def _kebab(text: str) -> str:
    return _NOT_KEBAB.sub("-", text.lower()).strip("-") or "my-task"


def _draft(answer: str | None) -> CardDraft:
    """The model's JSON answer (the outermost braces of its text), or an AutorewardError naming the problem."""
    text = answer or ""
    start, end = text.find("{"), text.rfind("}")
    try:
        return CardDraft.model_validate_json(text[start : end + 1] if 0 <= start < end else text)
    except ValidationError as err:
        problem = err.errors()[0]
        where = ".".join(str(p) for p in problem["loc"]) or "answer"
        raise AutorewardError(
            f"the model's answer is not the card asked for ({where}: {problem['msg']}); run `autoreward new` again "
            "or write the fitness yourself"
        ) from None


def _toml(value: Any) -> str:
    """``value`` (str, bool, number or a flat table) as TOML; JSON's string escapes are TOML's."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    return json.dumps(value)


def card_text(card: TaskCard, why: str = "") -> str:
    """The card as TOML, the fitness first in the reader's eye; read back by ``tomllib`` before it is given out."""
    fields = card.model_dump(exclude_defaults=True, exclude={"source"}, by_alias=True)
    lines = [f"# {line}" for line in ("Written by `autoreward new`: read the fitness, it judges every run.", why)]
    lines += [f"{key} = {_toml(value)}" for key, value in fields.items()]
    text = "\n".join(line for line in lines if line != "# ") + "\n"
    if TaskCard.model_validate({**tomllib.loads(text)}) != card.model_copy(update={"source": None}):
        raise AutorewardError("the card could not be written as TOML that reads back the same; please report this")
    return text


def new_card(
    env_id: str, intent: str, settings: LLMSettings, *, module: str | None = None, card_dir: Path | None = None
) -> tuple[TaskCard, str]:
    """Ask the model for a card's fitness, threshold and budget, check them, and return the card and its TOML.
    ``card_dir``: where the card will live (a ``module`` path resolves beside it)."""
    source = (card_dir or Path.cwd()) / "new-card.toml"
    try:
        base = TaskCard(name=_kebab(env_id), env_id=env_id, intent=intent, module=module, source=source)
    except ValidationError as err:
        raise AutorewardError(f"{err.errors()[0]['loc'][0]}: {err.errors()[0]['msg']}") from None
    description = describe(base, check_fitness=False).render(settings.prompts_dir)
    prompt = render("new_card.j2", settings.prompts_dir, intent=intent, description=description)
    record = complete([{"role": "user", "content": prompt}], settings, n=1, purpose="card")
    draft = _draft(record.answers[0] if record.answers else None)
    try:
        fitness = FitnessExpr(expr=draft.expr, reduce=draft.reduce, unit=draft.unit)  # type: ignore[arg-type]
        card = base.model_copy(update={
            "name": _kebab(draft.name or env_id), "fitness": fitness, "success_threshold": draft.success_threshold,
            "timesteps": draft.timesteps,
        })  # fmt: skip
        card = TaskCard.model_validate(card.model_dump(by_alias=True) | {"source": source})
        check_card_env(card)  # the expression reads only fields the State has
    except (ValidationError, TaskError) as err:
        message = str(err).splitlines()[0] if isinstance(err, TaskError) else err.errors()[0]["msg"]
        raise AutorewardError(f"the model's fitness {draft.expr!r} is not usable: {message}") from None
    scores = random_fitness(card, RANDOM_EPISODES)
    if scores.fitness_max >= draft.success_threshold:
        raise AutorewardError(
            f"random play already reaches the model's threshold {draft.success_threshold:g} on "
            f"{card.fitness_text} (best of {scores.episodes} random episodes: {scores.fitness_max:.4g}); run "
            "`autoreward new` again or set the threshold yourself"
        )
    random = f"Random play scores {scores.fitness_mean:.4g} (at best {scores.fitness_max:.4g})."
    why = f"{clean(draft.why, 300, one_line=True)} {random}"
    return card, card_text(card, why.strip())
