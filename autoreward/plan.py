"""The plan step: ordered stages for a sparse task, asked of the LLM before any program is written.

A user's card may state only its goal; the staged skeleton needs what ends each stage and what measures progress
in it. The LLM answers one JSON object per sample (``PlanAnswer``); the embedded model is held by a grammar whose
field terminals are the description's real field names, so it cannot name a field that does not exist, and a
hosted model's answer is checked against the same names. The Critic then checks each plan on the dry run's
rollouts (``autoreward.critic.plan_check``) before an accepted one feeds the skeleton (``with_plan``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from autoreward.config import LLMSettings
from autoreward.describe import EnvDescription
from autoreward.llm import Budget, CallRecord, ChatMessage, complete
from autoreward.subgoals import Subgoal
from autoreward.tasks import TaskCard
from autoreward.templates import render

PLAN_SAMPLES = 4
MAX_STAGES = 6
_OBJECT = re.compile(r"\{.*\}", re.DOTALL)
Origin = Literal["card", "llm", "mined"]


class PlanAnswer(BaseModel):
    """The schema an LLM answers: the stages, in order."""

    model_config = ConfigDict(extra="forbid")

    stages: list[Subgoal]


class Plan(BaseModel):
    """One candidate plan, where it came from, and (once checked) why it was rejected: no reasons, accepted."""

    stages: list[Subgoal]
    origin: Origin
    checked: bool = False
    reasons: list[str] = []

    @property
    def accepted(self) -> bool:
        return self.checked and not self.reasons

    @property
    def key(self) -> tuple[tuple[str | None, ...], ...]:
        """What makes two plans the same: their stages' fields and directions, not their notes."""
        return tuple((s.ends_when, s.ends if s.ends_when else None, s.progress, s.direction) for s in self.stages)

    @property
    def line(self) -> str:
        """One line for people: where it came from, its verdict, its stages."""
        verdict = "accepted" if self.accepted else f"rejected: {self.reasons[0]}" if self.reasons else "unchecked"
        stages = " -> ".join(
            s.head
            + (f" ({s.progress} {s.direction or ''})".replace(" )", ")") if s.progress and s.progress != s.head else "")
            for s in self.stages
        )
        return f"{self.origin} plan, {verdict}: {stages}"

    @property
    def answer(self) -> str:
        """The plan as the JSON an LLM answers (what the plan prompt offers back)."""
        return json.dumps({"stages": [s.model_dump(exclude={"note"}) for s in self.stages]})

    def toml(self) -> str:
        """The plan as ``[[subgoals]]`` tables a user can paste into a card."""
        lines: list[str] = []
        for stage in self.stages:
            lines.append("[[subgoals]]")
            for name, value in stage.model_dump(exclude_defaults=True).items():
                lines.append(f"{name} = {json.dumps(value)}")
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"


def field_names(description: EnvDescription) -> list[str]:
    """The names a plan may use: each scalar field, and each mapping's entries as ``name["key"]``."""
    names: list[str] = []
    for field in description.fields:
        if field.kind == "scalar":
            names.append(field.name)
        elif field.kind == "mapping" and not field.shape:
            names += [f'{field.name}["{entry.key}"]' for entry in field.entries]
    return names


def needs_plan(card: TaskCard) -> bool:
    """A sparse card: a random policy sees no success, so progress must come from stages."""
    return card.sparse


def plan_messages(
    card: TaskCard, description: EnvDescription, settings: LLMSettings, offered: Sequence[Plan] = ()
) -> list[ChatMessage]:
    """The plan prompt; ``offered``: plans found without the LLM (mined from solving paths, or the card's), shown as
    candidates the model may keep or improve."""
    prompts = settings.prompts_dir
    user = render(
        "plan.j2", prompts, card=card, description=description.render(prompts).rstrip(), offered=list(offered),
        names=field_names(description), max_stages=MAX_STAGES,
    ).strip()  # fmt: skip
    return [
        ChatMessage(role="system", content=render("system_plan.j2", prompts).strip()),
        ChatMessage(role="user", content=user),
    ]


def plan_grammar(description: EnvDescription, settings: LLMSettings) -> str:
    """The llama.cpp grammar of one plan answer whose field terminals are the description's real names."""
    return render("plan.gbnf", settings.prompts_dir, names=field_names(description), max_stages=MAX_STAGES)


def ask_plans(
    card: TaskCard,
    description: EnvDescription,
    settings: LLMSettings,
    *,
    k: int = PLAN_SAMPLES,
    budget: Budget | None = None,
    offered: Sequence[Plan] = (),
) -> CallRecord:
    """One recorded call for ``k`` plans (grammar-held where the settings use one)."""
    grammar = settings.prompt_style == "skeleton" and settings.grammar
    extra_body = {"grammar": plan_grammar(description, settings)} if grammar else None
    messages = plan_messages(card, description, settings, offered)
    return complete(messages, settings, n=k, budget=budget, purpose="plan", extra_body=extra_body)


def plans_from(record: CallRecord, names: list[str]) -> tuple[list[Plan], list[str]]:
    """The plans in a call's answers, and a reason for each answer that holds none; deterministic, so a resumed
    run rebuilds them from the stored record."""
    plans: list[Plan] = []
    problems: list[str] = []
    for answer in record.answers:
        result = parse_plan(answer or "", names)
        if isinstance(result, str):
            problems.append(result)
        else:
            plans.append(result)
    return plans, problems


def parse_plan(answer: str, names: list[str]) -> Plan | str:
    """One answer as a plan, or why it is none (not JSON, not the schema, a field the State does not have)."""
    found = _OBJECT.search(answer)
    if found is None:
        return "the answer holds no JSON object"
    try:
        parsed = PlanAnswer.model_validate_json(found.group(0))
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"the plan does not fit the schema ({where}: {first['msg']})"
    if not parsed.stages or len(parsed.stages) > MAX_STAGES:
        return f"the plan has {len(parsed.stages)} stages; give 1 to {MAX_STAGES}"
    known = set(names)
    unknown = [n for s in parsed.stages for n in (s.ends_when, s.progress) if n is not None and n not in known]
    if unknown:
        return f"the plan names {unknown[0]}, which is not a State field"
    return Plan(stages=parsed.stages, origin="llm")


def distinct(plans: list[Plan]) -> list[Plan]:
    """``plans`` without repeats (the same stages, fields and directions), first kept."""
    seen: dict[tuple, Plan] = {}
    for plan in plans:
        seen.setdefault(plan.key, plan)
    return list(seen.values())


def with_plan(card: TaskCard, plan: Plan) -> TaskCard:
    """``card`` with ``plan``'s stages as its sub-goals: the skeleton, its grammar and the checks read them."""
    return card.model_copy(update={"subgoals": list(plan.stages)})
