"""The Critic: static checks, a sandboxed dry run on real states, and an optional LLM review.

``critique`` runs the stages cheapest first and stops at the first stage that finds an error: a program that
does not parse is not worth a dry run, and one that crashes is not worth an LLM call.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoreward.critic.verdict import Reason, Verdict
from autoreward.types import Review

if TYPE_CHECKING:
    from autoreward.sandbox.limits import Limits
    from autoreward.tasks import TaskCard


__all__ = ["Reason", "Review", "Verdict", "critique", "state_fields"]


def critique(
    source: str,
    card: TaskCard,
    *,
    review: Review | None = None,
    steps: int | None = None,
    limits: Limits | None = None,
    scratch: Path | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    discount: float | None = None,
) -> Verdict:
    """Judge one reward program for ``card``: static -> dry run -> ``review`` (skipped when None).
    ``discount``: the training's (PPO's gamma; None: SB3's default)."""
    from autoreward.critic.dryrun import DEFAULT_DISCOUNT, DEFAULT_STEPS, Observed, dry_run
    from autoreward.critic.static import static_check

    start = time.perf_counter()
    verdict = Verdict()
    verdict.reasons += static_check(source, state_fields(card))
    verdict.stages_run.append("static")
    if verdict.accepted:
        steps = steps or DEFAULT_STEPS
        observed = Observed()
        verdict.reasons += dry_run(
            source, card, steps=steps, limits=limits, scratch=scratch, on_event=on_event,
            discount=DEFAULT_DISCOUNT if discount is None else discount, observed=observed,
        )  # fmt: skip
        verdict.stages_run.append("dryrun")
        verdict.components = sorted(observed.names)
        verdict.behaviour = observed.behaviour
    if verdict.accepted and review is not None:
        verdict.reasons += review(source, card)
        verdict.stages_run.append("review")
    verdict.seconds = time.perf_counter() - start
    return verdict


def state_fields(card: TaskCard) -> dict[str, tuple[str, ...]]:
    """The names (and mapping keys) of ``card``'s State, made once per card in this process."""
    return dict(_fields(card.model_dump_json(), str(card.source or "")))


@functools.cache
def _fields(card_json: str, source: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    from autoreward.envs.make import card_state_spec, make_card_env
    from autoreward.tasks import TaskCard

    card = TaskCard.model_validate_json(card_json)
    if source:
        card = card.model_copy(update={"source": Path(source)})
    env = make_card_env(card)
    try:
        spec = card_state_spec(card, env)
    finally:
        env.close()
    return tuple((name, tuple(field.keys)) for name, field in spec.fields.items())
