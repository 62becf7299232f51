"""The real stage implementations the loop runs with: the Critic, sandboxed training, the Analyzer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autoreward.analyzer import analyze_iteration
from autoreward.critic import critique
from autoreward.critic.verdict import Verdict
from autoreward.loop import Parts
from autoreward.runconfig import RunConfig
from autoreward.tasks import TaskCard
from autoreward.training.hyperparams import learner_settings
from autoreward.training.models import TrainResult
from autoreward.training.sandboxed import train_in_sandbox
from autoreward.types import Review


def _critic(source: str, card: TaskCard, scratch: Path, review: Review | None) -> Verdict:
    return critique(source, card, review=review, scratch=scratch, discount=learner_settings(card).gamma)


def _analyze(
    card: TaskCard, results: list[tuple[str, TrainResult]], prompts_dir: Path | None, ranked_by: str | None = None
) -> str:
    """The Analyzer's report, rendered from the user's templates (``--prompts``) where they have them."""
    return analyze_iteration(card, results, prompts_dir, ranked_by)


def default_parts(config: RunConfig, card: TaskCard, ask_ranking: Any = None) -> Parts:
    """The parts for ``config``: local sandboxed workers, or Ray tasks with ``--backend ray``."""
    if config.backend == "ray":
        from autoreward.ray_backend import ray_train_one

        train_one = ray_train_one(config, card)
    else:
        train_one = train_in_sandbox

    return Parts(critic=_critic, train_one=train_one, analyze=_analyze, ask_ranking=ask_ranking)
