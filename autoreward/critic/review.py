"""The Critic's optional LLM review: does maximising the program produce the intended behaviour?

The reviewer answers JSON; an answer that cannot be read becomes a warning, never a crash and never a
rejection, because the review is advice on top of the static and dry-run checks."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel

from autoreward.config import LLMSettings
from autoreward.critic.verdict import Reason
from autoreward.designer import render_prompt
from autoreward.llm import Budget, CallRecord, ChatMessage, complete
from autoreward.tasks import TaskCard

_JSON_FENCE = re.compile(r"```(?:json)?\s*\n(.*?)```", re.DOTALL | re.IGNORECASE)


class Review(BaseModel):
    reasons: list[Reason]
    record: CallRecord


def review_messages(source: str, card: TaskCard, description_text: str, settings: LLMSettings) -> list[ChatMessage]:
    text = render_prompt(
        "review.j2", settings.prompts_dir, card=card, description=description_text.rstrip(), source=source
    )
    return [ChatMessage(role="user", content=text)]


def review_program(
    source: str,
    card: TaskCard,
    description_text: str,
    settings: LLMSettings,
    budget: Budget | None = None,
) -> Review:
    """One review call at temperature 0; the reasons and the call's record."""
    quiet = settings.model_copy(update={"temperature": 0.0})
    messages = review_messages(source, card, description_text, settings)
    record = complete(messages, quiet, n=1, budget=budget, purpose="review")
    return Review(reasons=parse_review(record.answers[0], record.finish_reasons[0]), record=record)


def review(
    source: str, card: TaskCard, description_text: str, settings: LLMSettings, budget: Budget | None = None
) -> list[Reason]:
    """The review's reasons only (the record is dropped: use review_program to keep it)."""
    return review_program(source, card, description_text, settings, budget).reasons


def _json_object(answer: str) -> dict[str, Any] | None:
    """The first JSON object in the answer: a ```json block, the whole text, or the outermost braces."""
    candidates = [m.group(1) for m in _JSON_FENCE.finditer(answer)] + [answer]
    start, end = answer.find("{"), answer.rfind("}")
    if 0 <= start < end:
        candidates.append(answer[start : end + 1])
    for text in candidates:
        try:
            value = json.loads(text.strip())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _warning(message: str) -> Reason:
    return Reason(stage="review", severity="warning", message=message)


def _finding(item: Any) -> Reason | None:
    if isinstance(item, str) and item.strip():
        return _warning(item.strip())
    if not isinstance(item, dict) or not str(item.get("message", "")).strip():
        return None
    severity = "error" if str(item.get("severity", "")).lower() == "error" else "warning"
    line = item.get("line")
    line = int(line) if isinstance(line, int | float) and not isinstance(line, bool) and line > 0 else None
    return Reason(stage="review", severity=severity, message=str(item["message"]).strip(), line=line)


def parse_review(answer: str | None, finish_reason: str | None = None) -> list[Reason]:
    """Reasons from the reviewer's answer; an unreadable answer is one warning saying so."""
    data = _json_object(answer or "")
    if data is None:
        cut = " (cut off: raise max_tokens)" if finish_reason == "length" else ""
        return [_warning(f"the LLM review gave no readable JSON verdict{cut}; review skipped")]
    findings = data.get("findings", data.get("reasons", []))
    reasons = [r for r in map(_finding, findings if isinstance(findings, list) else []) if r is not None]
    verdict = str(data.get("verdict", "")).strip().lower()
    if verdict not in ("accept", "reject"):
        shown = repr(verdict) if verdict else "missing"
        reasons.append(_warning(f"the LLM review's verdict is {shown}, neither accept nor reject"))
    elif verdict == "reject" and not any(r.severity == "error" for r in reasons):
        reasons.append(Reason(stage="review", severity="error", message="the LLM review rejected the program"))
    elif verdict == "accept":
        reasons = [r.model_copy(update={"severity": "warning"}) for r in reasons]
    return reasons
