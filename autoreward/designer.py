"""The Designer: an env description and the feedback so far in, K candidate reward programs out."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from pydantic import BaseModel

from autoreward.config import LLMSettings, with_model_defaults
from autoreward.critic.verdict import Reason
from autoreward.describe import EnvDescription
from autoreward.errors import AutorewardError
from autoreward.examples import example_source
from autoreward.extract import extract_program
from autoreward.feedback import Feedback
from autoreward.grammar import potential_lines
from autoreward.llm import Budget, CallRecord, ChatMessage, complete
from autoreward.tasks import TaskCard
from autoreward.templates import render

if TYPE_CHECKING:  # a type only: earlier runs' programs are chosen by the loop
    from autoreward.past_runs import PastProgram


class Candidate(BaseModel):
    """One sampled program, or the reason there is none; ``call_id`` names the CallRecord it came from."""

    index: int
    source: str | None = None
    reason: Reason | None = None
    call_id: str

    @property
    def ok(self) -> bool:
        return self.source is not None


class Design(BaseModel):
    """The K candidates of one design step and the call that produced them."""

    candidates: list[Candidate]
    record: CallRecord

    @property
    def programs(self) -> list[str]:
        return [c.source for c in self.candidates if c.source is not None]


def render_prompt(template: str, prompts_dir: Path | None, **context: Any) -> str:
    """A prompt from its template; a broken user template is one line naming the file and the problem."""
    try:
        return render(template, prompts_dir, **context).strip()
    except jinja2.TemplateError as err:
        where = f"{prompts_dir}/{template}" if prompts_dir and (prompts_dir / template).is_file() else template
        line = f" line {err.lineno}" if isinstance(err, jinja2.TemplateSyntaxError) else ""
        known = ", ".join(sorted(context))
        raise AutorewardError(f"prompt template {where}{line}: {err.message}; it may use: {known}") from None


class Designer:
    """Writes prompts from templates and turns the LLM's answers into candidates.

    Garbage answers become rejected candidates; configuration faults (key, model, api base) and a spent
    budget raise, because no later sample could do better.

    ``discount``: the training's discount (PPO's gamma); the skeleton writes the potential difference discounted by
    it, since an undiscounted one pays for undoing and redoing a sub-goal."""

    def __init__(self, settings: LLMSettings, budget: Budget | None = None, discount: float = 0.99) -> None:
        self.settings = with_model_defaults(settings)
        self.budget = budget
        self.discount = discount

    @property
    def skeleton(self) -> bool:
        """Small models get the skeleton prompts (``design_skeleton.j2``, ...) and, if enabled, the grammar."""
        return self.settings.prompt_style == "skeleton"

    def messages(
        self,
        card: TaskCard,
        description: EnvDescription | str,
        feedback: Feedback | None = None,
        past: Sequence[PastProgram] = (),
    ) -> list[ChatMessage]:
        """The prompt; ``past``: earlier runs' best programs, appended to a first design (``past_runs.j2``)."""
        return self._messages(self._context(card, description), feedback, past)

    def _messages(
        self, context: dict[str, Any], feedback: Feedback | None, past: Sequence[PastProgram]
    ) -> list[ChatMessage]:
        prompts = self.settings.prompts_dir
        card: TaskCard = context["card"]
        suffix = "_skeleton" if self.skeleton else ""
        if feedback is None:
            example = example_source(card.family, context["action_kind"], prompts, reach=card.reaching)
            user = render_prompt(f"design{suffix}.j2", prompts, example=example, **context)
            if past:
                user += "\n\n" + render_prompt("past_runs.j2", prompts, examples=list(past), card=card)
        else:
            user = render_prompt(f"revise{suffix}.j2", prompts, feedback=feedback, **context)
        return [
            ChatMessage(role="system", content=render_prompt(f"system{suffix}.j2", prompts)),
            ChatMessage(role="user", content=user),
        ]

    def _context(self, card: TaskCard, description: EnvDescription | str) -> dict[str, Any]:
        """What the design, revision and skeleton templates are rendered with."""
        text = description if isinstance(description, str) else description.render(self.settings.prompts_dir)
        # A stored description from an older run is text only: then the prompts cannot fit the action space.
        action_kind = None if isinstance(description, str) else description.action.kind
        terminates = None if isinstance(description, str) else description.terminations > 0
        return {
            "card": card, "description": text.rstrip(), "action_kind": action_kind, "sparse": card.sparse,
            "terminates": terminates,
            # Discounted shaping keeps the best policy only if a terminal state's potential is 0, which a program
            # cannot see: where failing ends the episode (LavaGap's lava) an offset in the potential pays for dying.
            "discount": None if terminates else self.discount,
        }  # fmt: skip

    def extra_body(self, card: TaskCard, description: EnvDescription | str) -> dict[str, Any] | None:
        """The request fields beyond the OpenAI API: llama.cpp's ``grammar`` forcing the skeleton the prompt
        shows (autoreward.grammar), when on."""
        return self._extra_body(self._context(card, description))

    def _extra_body(self, context: dict[str, Any]) -> dict[str, Any] | None:
        if not (self.skeleton and self.settings.grammar):
            return None
        prompts = self.settings.prompts_dir
        skeleton = render_prompt("skeleton.j2", prompts, **context)
        return {"grammar": render_prompt("skeleton.gbnf", prompts, potential=potential_lines(skeleton))}

    def design(
        self,
        card: TaskCard,
        description: EnvDescription | str,
        feedback: Feedback | None = None,
        k: int | None = None,
        past: Sequence[PastProgram] = (),
    ) -> Design:
        """Sample ``k`` (default ``settings.samples``) programs in one call."""
        purpose = "design" if feedback is None else "revise"
        context = self._context(card, description)  # renders the description once for the prompt and the grammar
        messages, extra_body = self._messages(context, feedback, past), self._extra_body(context)
        record = complete(messages, self.settings, n=k, budget=self.budget, purpose=purpose, extra_body=extra_body)
        return Design(candidates=candidates_from(record), record=record)

    def resample(
        self, asked: CallRecord, rejected: list[str], k: int, card: TaskCard, description: EnvDescription | str
    ) -> Design:
        """``k`` replacements for rejected programs: the call that produced them (``asked``, for ``card`` and
        ``description``) again, with the rejection reasons appended. The prompt's long prefix is unchanged, so a
        local server that caches it only reads the short note; the call is cheap where it matters."""
        note = render_prompt("resample.j2", self.settings.prompts_dir, rejected=rejected)
        messages = [*asked.messages[:-1], ChatMessage(role="user", content=f"{asked.messages[-1].content}\n\n{note}")]
        extra_body = self.extra_body(card, description)
        record = complete(messages, self.settings, n=k, budget=self.budget, purpose="resample", extra_body=extra_body)
        return Design(candidates=candidates_from(record), record=record)


def candidates_from(record: CallRecord) -> list[Candidate]:
    """The candidates in a call's answers; deterministic, so a resumed run rebuilds them from the stored record."""
    return [
        _candidate(i, answer, finish, record)
        for i, (answer, finish) in enumerate(zip(record.answers, record.finish_reasons, strict=True))
    ]


def _candidate(index: int, answer: str | None, finish: str | None, record: CallRecord) -> Candidate:
    if answer is None and finish == "error":
        reason = Reason(stage="extract", severity="error", message=f"the LLM request failed: {record.error}")
        return Candidate(index=index, reason=reason, call_id=record.id)
    result = extract_program(answer, finish)
    if isinstance(result, Reason):
        return Candidate(index=index, reason=result, call_id=record.id)
    return Candidate(index=index, source=result, call_id=record.id)
