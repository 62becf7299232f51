"""Training statistics: what a checkpoint and an evaluation record, and the cheap accumulators behind them.

The models are plain pydantic values so that they travel as JSON from the worker to the parent, land in the
run store unchanged, and feed the analyzer without the training process being alive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pydantic import BaseModel, Field


class ComponentStats(BaseModel):
    """One reward component over a window of training steps (Eureka's reward reflection reads these)."""

    mean: float
    min: float
    max: float
    share: float = Field(description="mean |value| of this component / sum of all components' mean |value|")
    active: float = Field(description="fraction of steps where the component was non-zero")
    episode_sum: float | None = Field(default=None, description="mean per-episode sum, over episodes that ended")


class Checkpoint(BaseModel):
    """Statistics of the training window that ended at ``timesteps``; fitness is the task's, not the reward's."""

    timesteps: int
    steps: int = Field(description="env steps in this window, over all envs")
    episodes: int = Field(description="episodes that ended in this window")
    fitness_mean: float | None = None
    fitness_min: float | None = None
    fitness_max: float | None = None
    reward_return_mean: float | None = Field(default=None, description="the candidate's reward per episode")
    builtin_return_mean: float | None = Field(default=None, description="the env's own reward per episode")
    length_mean: float | None = None
    terminated: int = Field(default=0, description="episodes ended by the env's termination condition")
    truncated: int = Field(default=0, description="episodes ended by the time limit")
    reward_mean: float = Field(default=0.0, description="mean per-step reward of the candidate")
    components: dict[str, ComponentStats] = Field(default_factory=dict)
    eval_fitness: float | None = Field(default=None, description="deterministic evaluation at this point, if run")
    fps: float = 0.0


class EpisodeSummary(BaseModel):
    """One evaluation rollout, summarised for the analyzer (Auto MC-Reward-style trajectory analysis)."""

    seed: int
    fitness: float
    length: int
    terminated: bool
    builtin_return: float
    reward_return: float
    component_sums: dict[str, float]
    fitness_trace: list[tuple[int, float]] = Field(description="(step, fitness so far) at ~10 points")


class Evaluation(BaseModel):
    """The true fitness of the final policy over separate episodes with their own seeds."""

    episodes: int
    fitness_mean: float
    fitness_std: float
    fitness_min: float
    fitness_max: float
    success_rate: float | None = Field(default=None, description="share of episodes at or above the threshold")
    success_threshold: float | None = None
    builtin_return_mean: float
    reward_return_mean: float
    length_mean: float
    terminated_rate: float
    rollouts: list[EpisodeSummary]


@dataclass(slots=True)
class ComponentAccumulator:
    """One component's per-step values in one env, in one pass: the window's running sum/min/max/counts (reduced
    over the envs at a checkpoint) and the current episode's sum. Plain floats keep a step at ~1 µs."""

    total: float = 0.0
    abs_total: float = 0.0
    low: float = math.inf
    high: float = -math.inf
    count: int = 0
    nonzero: int = 0
    episode: float = 0.0

    def add(self, value: float) -> None:
        self.total += value
        self.episode += value
        self.count += 1
        if value:
            self.nonzero += 1
            self.abs_total += abs(value)
        if value < self.low:
            self.low = value
        if value > self.high:
            self.high = value

    def absorb(self, other: ComponentAccumulator) -> None:
        """Add ``other``'s window to this one's (not its episode: episodes belong to one env)."""
        self.total += other.total
        self.abs_total += other.abs_total
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)
        self.count += other.count
        self.nonzero += other.nonzero

    def restart_window(self) -> None:
        """A new window; the episode under way keeps its sum."""
        self.total = self.abs_total = 0.0
        self.low, self.high = math.inf, -math.inf
        self.count = self.nonzero = 0


@dataclass
class EpisodeRecord:
    fitness: float
    length: int
    terminated: bool
    reward_return: float
    builtin_return: float
    component_sums: dict[str, float]


@dataclass
class WindowRecorder:
    """Shared by every env of one DummyVecEnv and the stats callback: the envs add, the callback drains.

    Each env adds its steps to its own accumulators (``env_components``), one lookup per component per step; a
    checkpoint reduces them over the envs. Sharing one object in-process avoids per-step ``env_method`` calls;
    it relies on DummyVecEnv, which is the design (parallelism is across candidates, not inside one).
    """

    episodes: list[EpisodeRecord] = field(default_factory=list)
    rollout: list[EpisodeRecord] = field(default_factory=list)  # ended since the policy last changed
    steps: int = 0
    reward_total: float = 0.0
    envs: list[dict[str, ComponentAccumulator]] = field(default_factory=list)

    def env_components(self) -> dict[str, ComponentAccumulator]:
        """A new env's accumulators, by component name: the env fills them, ``drain`` reads them."""
        self.envs.append({})
        return self.envs[-1]

    def record(self, episode: EpisodeRecord) -> None:
        """An ended episode, counted in the checkpoint window and in the current rollout."""
        self.episodes.append(episode)
        self.rollout.append(episode)

    def components(self) -> dict[str, ComponentAccumulator]:
        """The window's accumulators reduced over the envs."""
        out: dict[str, ComponentAccumulator] = {}
        for accs in self.envs:
            for name, acc in accs.items():
                if acc.count:
                    out.setdefault(name, ComponentAccumulator()).absorb(acc)
        return out

    def drain(self, timesteps: int, fps: float) -> Checkpoint:
        """Summarise the window as a Checkpoint and start a new one."""
        checkpoint = summarise(self, timesteps, fps)
        for accs in self.envs:
            for acc in accs.values():
                acc.restart_window()
        self.episodes = []
        self.steps = 0
        self.reward_total = 0.0
        return checkpoint


def _mean(values: list[float]) -> float | None:
    return float(sum(values) / len(values)) if values else None


def summarise(window: WindowRecorder, timesteps: int, fps: float) -> Checkpoint:
    episodes = window.episodes
    fitness = [e.fitness for e in episodes if math.isfinite(e.fitness)]
    window_components = window.components()
    abs_means = {k: acc.abs_total / acc.count for k, acc in window_components.items()}
    scale = sum(abs_means.values())
    components = {
        name: ComponentStats(
            mean=acc.total / acc.count,
            min=acc.low,
            max=acc.high,
            share=abs_means[name] / scale if scale > 0 else 0.0,
            active=acc.nonzero / acc.count,
            episode_sum=_mean([e.component_sums.get(name, 0.0) for e in episodes]),
        )
        for name, acc in window_components.items()
    }
    return Checkpoint(
        timesteps=timesteps,
        steps=window.steps,
        episodes=len(episodes),
        fitness_mean=_mean(fitness),
        fitness_min=min(fitness) if fitness else None,
        fitness_max=max(fitness) if fitness else None,
        reward_return_mean=_mean([e.reward_return for e in episodes]),
        builtin_return_mean=_mean([e.builtin_return for e in episodes]),
        length_mean=_mean([float(e.length) for e in episodes]),
        terminated=sum(e.terminated for e in episodes),
        truncated=sum(not e.terminated for e in episodes),
        reward_mean=window.reward_total / window.steps if window.steps else 0.0,
        components=components,
        fps=fps,
    )
