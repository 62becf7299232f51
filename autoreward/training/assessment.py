"""The program-free final evaluation: the true fitness that selection, success, early stop and export use.

The training job's process loaded the reward program, so nothing it measured can be trusted for a decision: a
program controls its whole process. This job never loads the program. It rebuilds the policy from the saved
weights and normalisation statistics (plain data, ``training.saved_policy``) and runs the card's own fitness
over the evaluation episodes, on the env's built-in reward.
"""

from __future__ import annotations

from typing import Any

from autoreward.envs.make import make_card_env
from autoreward.sandbox.jobs import JobContext
from autoreward.training.evaluator import evaluate
from autoreward.training.hyperparams import learner_settings
from autoreward.training.models import TrainJob
from autoreward.training.saved_policy import load_model, prepare_sb3_save, save_sb3
from autoreward.training.trainer import evaluation_policy

ENTRY_POINT = "autoreward.training.assessment:run_job"


def run_job(ctx: JobContext) -> dict[str, Any]:
    """Evaluate the policy saved in the scratch directory on ``params["job"]``'s card; returns an Evaluation.
    With ``params["sb3"]``, also write the rebuilt model as SB3's ``model.zip`` (and VecNormalize's file): this
    process never loaded a program, so what it pickles is the parent's own settings and plain weights."""
    job = TrainJob.model_validate(ctx.params["job"])
    card = job.task_card()
    make_card_env(card).close()  # anything that starts a process while making the env, before the lock-down
    if ctx.params.get("sb3"):
        prepare_sb3_save()
    ctx.lock_down()
    model = load_model(card, job, ctx.scratch)
    if ctx.params.get("sb3"):
        save_sb3(model, ctx.scratch)
    policy = evaluation_policy(model, learner_settings(card).deterministic_eval)
    return evaluate(card, policy, None, job.eval_episodes, job.seed).model_dump(mode="json")
