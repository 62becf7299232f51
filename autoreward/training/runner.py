"""The steps of one candidate's run, in order: set up, train, keep the better policy, save, evaluate, plot, film,
write stats."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import CallbackList

from autoreward.errors import AutorewardError
from autoreward.reward import RewardProgramError, load_reward, names_read, program_line
from autoreward.tasks import TaskCard
from autoreward.training import plots, trainer
from autoreward.training.callbacks import BestRolloutCallback, StatsCallback, StopCallback, training_callbacks
from autoreward.training.evaluator import Policy, evaluate
from autoreward.training.halving import tie_broken
from autoreward.training.hyperparams import learner_settings
from autoreward.training.models import EventSink, TrainJob, TrainResult, failed_result
from autoreward.training.saved_policy import save_policy
from autoreward.training.snapshot import PolicySnapshot
from autoreward.training.stats import WindowRecorder
from autoreward.training.video import record_video

# A rollout is scored only when this many training episodes ended in it; the kept policy and the final one are
# then compared on this many episodes whose seeds the final evaluation never uses.
MIN_ROLLOUT_EPISODES = 10
VALIDATION_EPISODES = 10
VALIDATION_SEED_SHIFT = 1_000_000


class CandidateRun:
    """Holds what the steps share (card, reward, model, callback); ``run`` never raises for a bad reward."""

    def __init__(
        self, job: TrainJob, scratch: Path, on_event: EventSink, loader: Callable[[str], Any] = load_reward
    ) -> None:
        self.job = job
        self.loader = loader  # the sandbox passes one that locks the process down before the program loads
        self.scratch = scratch
        self.emit = on_event
        self.started = time.perf_counter()
        self.callback: StatsCallback | None = None
        self.stop: StopCallback | None = None
        self.train_s = 0.0
        self.kept_timesteps: int | None = None
        self.artifacts: dict[str, str] = {}

    @property
    def stopped(self) -> bool:
        """Successive halving cut this candidate (``StopCallback``)."""
        return self.stop is not None and self.stop.stopped

    def run(self) -> TrainResult:
        job = self.job
        self.scratch.mkdir(parents=True, exist_ok=True)
        try:
            card = job.task_card()
            settings = learner_settings(card)
            # None: the env's own reward; no program is loaded at all.
            reward_fn = None if job.reward_source is None else self.loader(job.reward_source)
        except RewardProgramError as err:
            return self._finish(failed_result(job, "reward", err, error_line=err.line))
        except AutorewardError as err:
            return self._finish(failed_result(job, "setup", err))
        n_envs = job.n_envs or settings.n_envs
        total = job.timesteps or card.timesteps
        self.emit({"event": "started", "candidate_id": job.candidate_id, "task": card.name,
                   "total_timesteps": total, "n_envs": n_envs, "hyperparams": settings.source})  # fmt: skip
        base = {"total_timesteps": total, "n_envs": n_envs, "hyperparams_source": settings.source}
        try:
            model = self._train(card, reward_fn, settings, n_envs, total)
        except Exception as err:
            return self._finish(self._training_failure(err, base))
        policy = trainer.evaluation_policy(model, settings.deterministic_eval)
        stopped = self.stopped  # cut by successive halving: no evaluation, no clip
        try:
            evaluation = None if stopped else self._evaluate(card, policy, reward_fn)
        except Exception as err:
            return self._finish(self._training_failure(err, base))
        model.get_env().close()
        self._plots(card, evaluation)
        if not stopped:
            self._video(card, policy)
        return self._finish(
            TrainResult(
                candidate_id=job.candidate_id, task=job.task, status="pruned" if stopped else "ok",
                timesteps=model.num_timesteps, fps=model.num_timesteps / self.train_s if self.train_s else 0.0,
                evaluation=evaluation, checkpoints=self._checkpoints(),
                kept_timesteps=self.kept_timesteps, **base,
            )
        )  # fmt: skip

    def _train(self, card: TaskCard, reward_fn: Any, settings: Any, n_envs: int, total: int) -> Any:
        job = self.job
        recorder = WindowRecorder()
        overrides = dict(job.hyperparams)
        gamma = float(overrides.get("gamma", settings.gamma))
        normalize = settings.normalize if job.normalize is None else job.normalize
        names = names_read(job.reward_source) if job.reward_source is not None else ()
        venv = trainer.make_training_env(card, reward_fn, n_envs, job.seed, recorder, normalize, gamma, names)
        tensorboard = self.scratch / "tensorboard" if job.tensorboard else None
        model = trainer.build_model(venv, settings, overrides, job.seed, tensorboard)
        if tensorboard is not None:
            self.artifacts["tensorboard"] = "tensorboard"
        policy = trainer.evaluation_policy(model, settings.deterministic_eval)
        probe = None
        if job.checkpoint_eval_episodes and card.fitness_spec is not None:

            def probe() -> float:
                return evaluate(card, policy, reward_fn, job.checkpoint_eval_episodes, job.seed).fitness_mean

        halving = (job.rungs, self.scratch, job.rung_wait_s) if job.rungs and card.fitness_spec is not None else None
        self.callback, callbacks, _, self.stop = training_callbacks(
            recorder, total, job.checkpoints, self.emit, probe, halving
        )
        best = BestRolloutCallback(recorder, MIN_ROLLOUT_EPISODES)
        started = time.perf_counter()
        trainer.train(model, total, CallbackList([callbacks, best]))
        self.train_s = time.perf_counter() - started
        if best.best is not None and not self.stopped:
            self._keep_better(card, model, policy, reward_fn, best.best)
        if job.save_model:
            self.artifacts.update(save_policy(model, self.scratch))
        return model

    def _keep_better(self, card: TaskCard, model: Any, policy: Policy, reward_fn: Any, best: PolicySnapshot) -> None:
        """End on the weights that collected the best rollout if, on validation episodes, they beat the weights
        the last update left (which no rollout measured); the final evaluation's seeds stay unseen by both."""
        if not self.job.eval_episodes or card.fitness_spec is None:
            return
        final = PolicySnapshot.take(model, float("nan"), 0)
        seed = self.job.seed + VALIDATION_SEED_SHIFT
        scores = []
        for snapshot in (final, best):
            snapshot.restore(model)
            result = evaluate(card, policy, reward_fn, VALIDATION_EPISODES, seed)
            scores.append(tie_broken(result.fitness_mean, result.builtin_return_mean))
        if scores[1] > scores[0]:
            self.kept_timesteps = best.timesteps
            self.emit({"event": "kept", "timesteps": best.timesteps, "validation": scores[1], "final": scores[0]})
        else:
            final.restore(model)

    def _evaluate(self, card: TaskCard, policy: Any, reward_fn: Any) -> Any:
        if not self.job.eval_episodes or card.fitness_spec is None:
            return None
        evaluation = evaluate(card, policy, reward_fn, self.job.eval_episodes, self.job.seed)
        self.emit({"event": "evaluated", "fitness": evaluation.fitness_mean,
                   "success_rate": evaluation.success_rate})  # fmt: skip
        return evaluation

    def _plots(self, card: TaskCard, evaluation: Any) -> None:
        if not self.job.plots:
            return
        checkpoints = self._checkpoints()
        title = f"{card.name} / {self.job.candidate_id}"
        plots.learning_curve(checkpoints, evaluation, self.scratch / "learning_curve.png", title)
        plots.component_curves(checkpoints, self.scratch / "components.png", title)
        self.artifacts.update(learning_curve="learning_curve.png", components="components.png")

    def _video(self, card: TaskCard, policy: Any) -> None:
        """A clip is a nice-to-have: a rendering problem is reported as an event, not a failed candidate."""
        if not self.job.video:
            return
        try:
            path = record_video(card, policy, self.scratch / "video.mp4", self.job.video_frames,
                                self.job.video_size, self.job.seed)  # fmt: skip
        except Exception as err:
            self.emit({"event": "warning", "message": f"no video: {type(err).__name__}: {err}"})
            return
        self.artifacts["video"] = path.name

    def _checkpoints(self) -> list:
        return list(self.callback.checkpoints) if self.callback else []

    def _training_failure(self, err: Exception, base: dict[str, Any]) -> TrainResult:
        """A reward that raised or went non-finite names its line; anything else is an internal failure."""
        done = 0
        if self.callback is not None:
            done = self.callback.num_timesteps
            self.callback.flush()
        if isinstance(err, RewardProgramError):
            return failed_result(self.job, "reward", err, error_line=err.line, error_step=err.step, timesteps=done,
                           checkpoints=self._checkpoints(), **base)  # fmt: skip
        line = program_line(err)
        if line is not None:
            wrapped = RewardProgramError(f"{type(err).__name__}: {err}", line=line)
            result = failed_result(self.job, "reward", err, error_line=line, timesteps=done,
                             checkpoints=self._checkpoints(), **base)  # fmt: skip
            result.error = str(wrapped)
            return result
        return failed_result(self.job, "internal", err, timesteps=done, checkpoints=self._checkpoints(), **base)

    def _finish(self, result: TrainResult) -> TrainResult:
        result.wall_s = time.perf_counter() - self.started
        result.artifacts = {**self.artifacts, **result.artifacts, "stats": "stats.json"}
        (self.scratch / "stats.json").write_text(json.dumps(result.model_dump(mode="json"), indent=1))
        self.emit({"event": "finished", "status": result.status, "fitness": result.fitness,
                   "error": result.error, "wall_s": round(result.wall_s, 2)})  # fmt: skip
        return result
