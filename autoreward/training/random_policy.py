"""The true fitness of uniformly random actions on a card, measured in a sandboxed, program-free job.

A card's fitness expression is evaluated in a worker, never in the CLI's process: this is how ``autoreward new``
checks that the expression it was given evaluates on the env's real States, and that a random policy does not
already meet the success threshold (a threshold any policy meets says nothing).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from autoreward.envs.make import card_folders, make_card_env
from autoreward.errors import AutorewardError
from autoreward.sandbox.jobs import Job, JobContext
from autoreward.sandbox.limits import Limits
from autoreward.sandbox.run import run_in_sandbox
from autoreward.tasks import TaskCard
from autoreward.training.evaluator import evaluate
from autoreward.training.models import TrainJob
from autoreward.training.stats import Evaluation

ENTRY_POINT = "autoreward.training.random_policy:run_job"
LIMITS = Limits(wall_seconds=300, cpu_seconds=300, memory_mb=4096)


def run_job(ctx: JobContext) -> dict[str, Any]:
    """Evaluate random actions on ``params["job"]``'s card over its ``eval_episodes``; returns an Evaluation."""
    job = TrainJob.model_validate(ctx.params["job"])
    card = job.task_card()
    env = make_card_env(card)  # anything that starts a process while making the env, before the lock-down
    ctx.lock_down()
    space = env.action_space
    space.seed(job.seed)
    try:
        return evaluate(card, lambda obs: space.sample(), None, job.eval_episodes, job.seed).model_dump(mode="json")
    finally:
        env.close()


def random_fitness(card: TaskCard, episodes: int = 5, seed: int = 0) -> Evaluation:
    """What random actions score on ``card``'s fitness; an AutorewardError saying why where it cannot be measured
    (the expression raised on a real State, the env failed)."""
    job = TrainJob(
        task=card.name, card=card.model_dump(mode="json"), card_source=str(card.source or ""), reward_source=None,
        eval_episodes=episodes, seed=seed,
    )  # fmt: skip
    task = Job(entry_point=ENTRY_POINT, params={"job": job.model_dump(mode="json")}, **card_folders(card))
    with tempfile.TemporaryDirectory(prefix="autoreward-random-") as scratch:
        report = run_in_sandbox(task, Path(scratch), LIMITS)
    if not report.ok:
        raise AutorewardError(f"the fitness of {card.name} could not be measured on random play: {report.describe()}")
    return Evaluation.model_validate(report.result)
