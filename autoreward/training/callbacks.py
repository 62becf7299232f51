"""SB3 callbacks: statistics at regular checkpoints, TensorBoard scalars and progress events for the parent."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

from autoreward.training.stats import Checkpoint, WindowRecorder

EventSink = Callable[[dict[str, Any]], None]


class CheckpointStatsCallback(BaseCallback):
    """Every ``total_timesteps / checkpoints`` steps, drains the shared recorder into a Checkpoint.

    The true fitness comes from the training episodes that ended in the window (cheap, stochastic policy);
    ``evaluate`` optionally adds a deterministic evaluation at each checkpoint.
    """

    def __init__(
        self,
        recorder: WindowRecorder,
        total_timesteps: int,
        checkpoints: int,
        on_event: EventSink | None = None,
        evaluate: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(verbose=0)
        self.recorder = recorder
        self.total_timesteps = total_timesteps
        self.every = max(1, total_timesteps // max(1, checkpoints))
        self.on_event = on_event
        self.evaluate = evaluate
        self.checkpoints: list[Checkpoint] = []
        self._next = self.every
        self._start = 0.0
        self._start_steps = 0

    def _on_training_start(self) -> None:
        self._start = time.perf_counter()
        self._start_steps = self.num_timesteps

    def _on_step(self) -> bool:
        if self.num_timesteps >= self._next:
            self._checkpoint()
            while self._next <= self.num_timesteps:
                self._next += self.every
        return True

    def _on_training_end(self) -> None:
        self.flush()

    def flush(self) -> None:
        """Record the window still open, unless the budget's last checkpoint was already taken (PPO's
        final rollout overshoots the budget by a few steps; those would make a misleading tiny window)."""
        last = self.checkpoints[-1].timesteps if self.checkpoints else -1
        if self.recorder.steps and last < self.total_timesteps:
            self._checkpoint()

    def fps(self) -> float:
        elapsed = time.perf_counter() - self._start
        return (self.num_timesteps - self._start_steps) / elapsed if elapsed > 0 else 0.0

    def _checkpoint(self) -> None:
        checkpoint = self.recorder.drain(self.num_timesteps, self.fps())
        if self.evaluate is not None:
            checkpoint.eval_fitness = self.evaluate()
        self.checkpoints.append(checkpoint)
        self._log(checkpoint)
        if self.on_event is not None:
            self.on_event(
                {
                    "event": "progress",
                    "timesteps": checkpoint.timesteps,
                    "total_timesteps": self.total_timesteps,
                    "fitness": checkpoint.fitness_mean,
                    "fps": round(checkpoint.fps, 1),
                }
            )
            self.on_event({"event": "checkpoint", "checkpoint": checkpoint.model_dump(mode="json")})

    def _log(self, c: Checkpoint) -> None:
        record = self.logger.record
        for key, value in (
            ("fitness/train_mean", c.fitness_mean),
            ("fitness/train_min", c.fitness_min),
            ("fitness/train_max", c.fitness_max),
            ("fitness/eval", c.eval_fitness),
            ("episodes/length_mean", c.length_mean),
            ("episodes/reward_return_mean", c.reward_return_mean),
            ("episodes/builtin_return_mean", c.builtin_return_mean),
            ("episodes/terminated", c.terminated),
            ("episodes/truncated", c.truncated),
            ("reward/step_mean", c.reward_mean),
        ):
            if value is not None:
                record(key, value)
        for name, s in c.components.items():
            for stat in ("mean", "min", "max", "share", "active"):
                record(f"components/{name}/{stat}", getattr(s, stat))
        self.logger.dump(self.num_timesteps)
