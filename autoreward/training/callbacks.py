"""SB3 callbacks, one concern each, combined in a ``CallbackList`` by ``training_callbacks``.

``StatsCallback`` drains the shared recorder into a Checkpoint at regular points and then runs its children
(SB3's ``EventCallback``): ``ProbeCallback`` (an optional deterministic evaluation), ``TensorBoardCallback``
(scalars) and ``ProgressCallback`` (events for the parent). Beside it, ``RungCallback`` saves the policy at
each successive-halving rung for the parent to assess (``rungs.py``), ``StopCallback`` ends training when the
parent asks (``halving.py``), and ``BestRolloutCallback`` keeps the weights whose rollout scored best.
"""

from __future__ import annotations

import math
import os
import select
import time
from collections.abc import Callable
from pathlib import Path

from stable_baselines3.common.callbacks import BaseCallback, CallbackList, EventCallback

from autoreward.training.halving import STOP_FILE, tie_broken
from autoreward.training.models import EventSink, RungReport
from autoreward.training.saved_policy import save_policy
from autoreward.training.snapshot import PolicySnapshot
from autoreward.training.stats import Checkpoint, EpisodeRecord, WindowRecorder


class StatsCallback(EventCallback):
    """Every ``total_timesteps / checkpoints`` steps, drains the recorder into ``last`` and runs the children.

    The fitness comes from the training episodes that ended in the window (cheap, stochastic policy)."""

    def __init__(
        self,
        recorder: WindowRecorder,
        total_timesteps: int,
        checkpoints: int,
        children: list[BaseCallback],
    ) -> None:
        super().__init__(CallbackList(children), verbose=0)
        for child in children:
            child.parent = self
        self.recorder = recorder
        self.total_timesteps = total_timesteps
        self.every = max(1, total_timesteps // max(1, checkpoints))
        self.checkpoints: list[Checkpoint] = []
        self._next = self.every
        self._start = 0.0
        self._start_steps = 0

    @property
    def last(self) -> Checkpoint:
        return self.checkpoints[-1]

    def _on_training_start(self) -> None:
        super()._on_training_start()
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
        self.checkpoints.append(self.recorder.drain(self.num_timesteps, self.fps()))
        self._on_event()


class ProbeCallback(BaseCallback):
    """Adds a deterministic evaluation's fitness to each checkpoint (a child of ``StatsCallback``)."""

    def __init__(self, probe: Callable[[], float]) -> None:
        super().__init__(verbose=0)
        self.probe = probe

    def _on_step(self) -> bool:
        assert isinstance(self.parent, StatsCallback)
        self.parent.last.eval_fitness = self.probe()
        return True


class TensorBoardCallback(BaseCallback):
    """Writes each checkpoint's statistics as scalars (a child of ``StatsCallback``); Monitor's episode
    reward and length are SB3's own ``rollout/ep_*`` scalars, not repeated here."""

    def _on_step(self) -> bool:
        assert isinstance(self.parent, StatsCallback)
        c = self.parent.last
        record = self.logger.record
        for key, value in (
            ("fitness/train_mean", c.fitness_mean),
            ("fitness/train_min", c.fitness_min),
            ("fitness/train_max", c.fitness_max),
            ("fitness/eval", c.eval_fitness),
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
        return True


class ProgressCallback(BaseCallback):
    """Sends each checkpoint to the parent process: a ``progress`` line for the live table and the whole
    ``checkpoint`` (a child of ``StatsCallback``)."""

    def __init__(self, on_event: EventSink) -> None:
        super().__init__(verbose=0)
        self.on_event = on_event

    def _on_step(self) -> bool:
        assert isinstance(self.parent, StatsCallback)
        c = self.parent.last
        self.on_event({"event": "progress", "timesteps": c.timesteps, "total_timesteps": self.parent.total_timesteps,
                       "fitness": c.fitness_mean, "fps": round(c.fps, 1)})  # fmt: skip
        self.on_event({"event": "checkpoint", "checkpoint": c.model_dump(mode="json")})
        return True


class RungCallback(BaseCallback):
    """At each successive-halving rung, saves the policy under the fixed rung names (``rung-policy.pt``, plain
    data as at the end) and sends a ``rung`` event naming the rung's index: a trigger only. The parent copies
    the weights and measures their true fitness program-free (``rungs.py``); nothing measured here competes.

    With ``wait_s``, training pauses at the rung until the parent's go (at most ``wait_s`` seconds): a FIFO named
    ``GATE`` made before the trigger, on which the worker blocks in ``poll`` until the parent writes to it, after
    its decision; a cut (the stop file) then ends training at once, not one step past the rung."""

    PREFIX = "rung-"
    GATE = "rung-go"

    def __init__(
        self, rungs: list[int], directory: Path, on_event: EventSink, stop: StopCallback, wait_s: float = 0.0
    ) -> None:
        super().__init__(verbose=0)
        self.rungs = sorted(rungs)
        self.directory = Path(directory)
        self.on_event = on_event
        self.stop = stop
        self.wait_s = wait_s
        self.passed = 0

    def _on_step(self) -> bool:
        if self.passed >= len(self.rungs) or self.num_timesteps < self.rungs[self.passed]:
            return True
        save_policy(self.model, self.directory, self.PREFIX)
        gate = self._open_gate() if self.wait_s > 0 else None
        self.on_event({"event": "rung", "rung": self.passed, "timesteps": self.num_timesteps})
        self.passed += 1
        if gate is None:
            return True
        try:
            poll = select.poll()
            poll.register(gate, select.POLLIN | select.POLLHUP)
            poll.poll(self.wait_s * 1000)
        finally:
            os.close(gate)
            (self.directory / self.GATE).unlink(missing_ok=True)
        return not self.stop.check()

    def _open_gate(self) -> int:
        """The FIFO, open for reading before the trigger is sent, so the parent's go always finds a reader."""
        path = self.directory / self.GATE
        path.unlink(missing_ok=True)
        os.mkfifo(path, 0o600)
        return os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)


def rung_report(rung: int, timesteps: int, episodes: list[EpisodeRecord]) -> RungReport | None:
    """A score of ``episodes`` by the true fitness, the env's return breaking ties (None until one with a finite
    fitness has ended): ranks this candidate's own rollouts, never another candidate."""
    finite = [e for e in episodes if math.isfinite(e.fitness)]
    if not finite:
        return None
    fitness = sum(e.fitness for e in finite) / len(finite)
    secondary = sum(e.builtin_return for e in finite) / len(finite)
    return RungReport(rung=rung, timesteps=timesteps, fitness=fitness, secondary=secondary,
                      value=tie_broken(fitness, secondary), episodes=len(finite))  # fmt: skip


class BestRolloutCallback(BaseCallback):
    """Scores each rollout by the true fitness of the training episodes that ended in it (ranked as the rungs
    rank) and keeps a ``PolicySnapshot`` of the weights that collected the best one; a later rollout wins a tie.
    A rollout in which fewer than ``min_episodes`` ended is not scored: its measure is too noisy."""

    def __init__(self, recorder: WindowRecorder, min_episodes: int) -> None:
        super().__init__(verbose=0)
        self.recorder = recorder
        self.min_episodes = min_episodes
        self.best: PolicySnapshot | None = None

    def _on_rollout_start(self) -> None:
        self.recorder.rollout.clear()

    def _on_rollout_end(self) -> None:
        # SB3 calls this after collecting and before ``train``: the weights are still those that collected.
        report = rung_report(0, self.num_timesteps, self.recorder.rollout)
        if report is None or report.episodes < self.min_episodes:
            return
        if self.best is None or report.value >= self.best.value:
            self.best = PolicySnapshot.take(self.model, report.value, report.episodes)

    def _on_step(self) -> bool:
        return True


class StopCallback(BaseCallback):
    """Ends training at the next rollout's end once ``stop`` exists in the scratch directory (the parent made
    it); ``learn`` then returns normally, so the model and statistics are written as after a full budget."""

    def __init__(self, scratch: Path) -> None:
        super().__init__(verbose=0)
        self.path = Path(scratch) / STOP_FILE
        self.stopped = False

    def _on_rollout_end(self) -> None:
        self.check()

    def check(self) -> bool:
        """Whether the parent has asked this training to stop."""
        self.stopped = self.stopped or self.path.exists()
        return self.stopped

    def _on_step(self) -> bool:
        return not self.stopped


def training_callbacks(
    recorder: WindowRecorder,
    total_timesteps: int,
    checkpoints: int,
    on_event: EventSink,
    checkpoint_probe: Callable[[], float] | None = None,
    halving: tuple[list[int], Path, float] | None = None,
) -> tuple[StatsCallback, CallbackList, RungCallback | None, StopCallback | None]:
    """The statistics callback (the runner reads its checkpoints), the whole list ``learn`` runs and, with
    ``halving`` (rung timesteps, scratch directory, longest wait at a rung), the rung and stop callbacks."""
    children: list[BaseCallback] = [ProbeCallback(checkpoint_probe)] if checkpoint_probe is not None else []
    children += [TensorBoardCallback(), ProgressCallback(on_event)]
    if halving is None:
        stats = StatsCallback(recorder, total_timesteps, checkpoints, children)
        return stats, CallbackList([stats]), None, None
    rungs, scratch, wait_s = halving
    stats = StatsCallback(recorder, total_timesteps, checkpoints, children)
    stop = StopCallback(scratch)
    rung = RungCallback(rungs, scratch, on_event, stop, wait_s)
    return stats, CallbackList([stats, rung, stop]), rung, stop
