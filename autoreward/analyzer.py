"""Diagnosis of one trained candidate: deterministic statistics first, rendered through ``analysis.j2``.

In the spirit of Eureka's reward reflection (each component's max/mean/min at ~10 points of training) and
Auto MC-Reward's trajectory analysis (how rollouts went and ended). Findings are codes with numbers; every
sentence lives in the template. ``summarize`` adds an optional LLM summary through ``analysis_summary.j2``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from autoreward import failure_modes as modes
from autoreward.errors import AutorewardError
from autoreward.failure_modes import Finding
from autoreward.tasks import TaskCard, resolve_task
from autoreward.templates import render
from autoreward.training.models import TrainResult
from autoreward.training.stats import Checkpoint, EpisodeSummary

Trend = Literal["grows", "shrinks", "stalls", "never fires"]

REFLECTION_POINTS = 10
DOMINANT_SHARE = 0.6  # a component above this share of |reward| drowns out the others
SILENT_ACTIVITY = 0.01  # non-zero on fewer than 1% of steps: it never fires
TREND_CHANGE = 0.25  # relative change between the first and last third that counts as movement
LENGTH_IS_FITNESS = 0.8  # fitness and episode length this correlated: the fitness measures lasting


class ReflectionPoint(BaseModel):
    timesteps: int
    max: float
    mean: float
    min: float


class ComponentTrendInfo(BaseModel):
    name: str
    trend: Trend
    dominates: bool
    first: float = Field(description="mean per-step value over the first third of training")
    last: float = Field(description="mean per-step value over the last third")
    share: float = Field(description="share of |reward| over the last third")
    active: float = Field(description="fraction of steps it was non-zero, last third")
    constant: float | None = Field(default=None, description="its value when it was the same on every step")
    reflection: list[ReflectionPoint]


class EpisodeEndings(BaseModel):
    episodes: int
    terminated_first: float | None = Field(description="share of episodes ended by termination, first third")
    terminated_last: float | None
    length_first: float | None
    length_last: float | None
    max_episode_steps: int | None


class FitnessMovement(BaseModel):
    first: float | None
    last: float | None
    best: float | None
    best_at: int | None
    trend: Literal["rises", "falls", "flat", "unknown"]
    reward_fitness_correlation: float | None = Field(description="Pearson r of reward return and fitness")
    reward_first: float | None = Field(default=None, description="the reward's episode return, first third")
    reward_last: float | None = Field(default=None, description="the reward's episode return, last third")
    eval_mean: float | None = None
    eval_std: float | None = None
    success_rate: float | None = None
    success_threshold: float | None = None
    builtin_return: float | None = None
    length_correlation: float | None = Field(
        default=None, description="Pearson r of episode length and fitness (checkpoints, else evaluation episodes)"
    )


class Analysis(BaseModel):
    candidate_id: str
    task: str
    intent: str | None = None
    fitness_text: str | None = None
    status: str
    error: str | None = None
    error_line: int | None = None
    timesteps: int
    components: list[ComponentTrendInfo]
    endings: EpisodeEndings
    fitness: FitnessMovement
    rollouts: list[EpisodeSummary]
    findings: list[Finding]
    text: str = ""


def _thirds(checkpoints: Sequence[Checkpoint]) -> tuple[list[Checkpoint], list[Checkpoint]]:
    """First and last third of the checkpoints (at least one each when there are any)."""
    k = max(1, len(checkpoints) // 3)
    return list(checkpoints[:k]), list(checkpoints[-k:])


def _avg(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(present)) if present else None


def _trend(first: float, last: float, scale: float) -> Literal["grows", "shrinks", "stalls"]:
    if abs(last - first) <= TREND_CHANGE * max(scale, 1e-9):
        return "stalls"
    return "grows" if last > first else "shrinks"


def reflection_points(checkpoints: Sequence[Checkpoint], name: str) -> list[ReflectionPoint]:
    """Eureka's reward reflection: the component's max/mean/min at up to 10 evenly spaced checkpoints."""
    having = [c for c in checkpoints if name in c.components]
    if len(having) > REFLECTION_POINTS:
        picks = np.linspace(0, len(having) - 1, REFLECTION_POINTS).round().astype(int)
        having = [having[i] for i in sorted(set(picks))]
    return [
        ReflectionPoint(timesteps=c.timesteps, max=c.components[name].max, mean=c.components[name].mean,
                        min=c.components[name].min)
        for c in having
    ]  # fmt: skip


def component_trends(checkpoints: Sequence[Checkpoint]) -> list[ComponentTrendInfo]:
    names = list(dict.fromkeys(name for c in checkpoints for name in c.components))
    first_third, last_third = _thirds([c for c in checkpoints if c.components])
    # Flooding needs another term that varies: a constant cost beside one term drowns nothing.
    varying = [n for n in names if len({v for c in checkpoints if n in c.components
                                        for v in (c.components[n].min, c.components[n].max)}) > 1]  # fmt: skip
    several = len(varying) > 1
    out = []
    for name in names:
        firsts = [c.components[name] for c in first_third if name in c.components]
        lasts = [c.components[name] for c in last_third if name in c.components]
        every = [c.components[name] for c in checkpoints if name in c.components]
        first = float(np.mean([s.mean for s in firsts])) if firsts else 0.0
        last = float(np.mean([s.mean for s in lasts])) if lasts else 0.0
        scale = max(max(abs(s.max), abs(s.min)) for s in every)
        silent = max(s.active for s in every) < SILENT_ACTIVITY or scale == 0.0
        share = float(np.mean([s.share for s in lasts])) if lasts else 0.0
        same = {v for s in every for v in (s.min, s.max)}
        out.append(
            ComponentTrendInfo(
                name=name,
                trend="never fires" if silent else _trend(first, last, max(abs(first), abs(last))),
                dominates=several and share > DOMINANT_SHARE,
                first=first,
                last=last,
                share=share,
                active=float(np.mean([s.active for s in lasts])) if lasts else 0.0,
                constant=same.pop() if len(same) == 1 else None,
                reflection=reflection_points(checkpoints, name),
            )
        )
    return out


def episode_endings(checkpoints: Sequence[Checkpoint], card: TaskCard | None) -> EpisodeEndings:
    with_episodes = [c for c in checkpoints if c.episodes]
    first, last = _thirds(with_episodes)

    def terminated(window: list[Checkpoint]) -> float | None:
        count = sum(c.episodes for c in window)
        return sum(c.terminated for c in window) / count if count else None

    return EpisodeEndings(
        episodes=sum(c.episodes for c in checkpoints),
        terminated_first=terminated(first) if with_episodes else None,
        terminated_last=terminated(last) if with_episodes else None,
        length_first=_avg([c.length_mean for c in first]) if with_episodes else None,
        length_last=_avg([c.length_mean for c in last]) if with_episodes else None,
        max_episode_steps=card.max_episode_steps if card else None,
    )


def _correlation(xs: list[float], ys: list[float]) -> float | None:
    if len(xs) < 3 or float(np.std(xs)) == 0.0 or float(np.std(ys)) == 0.0:
        return None
    return float(np.corrcoef(xs, ys)[0, 1])


def fitness_movement(result: TrainResult) -> FitnessMovement:
    points = [(c.timesteps, c.fitness_mean, c.reward_return_mean) for c in result.checkpoints]
    scored = [(t, f, r) for t, f, r in points if f is not None]
    evaluation = result.evaluation
    move = FitnessMovement(first=None, last=None, best=None, best_at=None, trend="unknown",
                           reward_fitness_correlation=None)  # fmt: skip
    if scored:
        first_third, last_third = _thirds(scored)  # type: ignore[arg-type]
        first = float(np.mean([f for _, f, _ in first_third]))
        last = float(np.mean([f for _, f, _ in last_third]))
        best_t, best, _ = max(scored, key=lambda p: p[1])
        spread = max(abs(first), abs(last), max(f for _, f, _ in scored) - min(f for _, f, _ in scored))
        moved = _trend(first, last, spread) if len(scored) > 1 else "stalls"
        paired = [(f, r) for _, f, r in scored if r is not None]
        move = FitnessMovement(
            first=first, last=last, best=best, best_at=best_t,
            trend={"grows": "rises", "shrinks": "falls", "stalls": "flat"}[moved],
            reward_fitness_correlation=_correlation([r for _, r in paired], [f for f, _ in paired]),
            reward_first=_avg([r for _, _, r in first_third]), reward_last=_avg([r for _, _, r in last_third]),
        )  # fmt: skip
    move.length_correlation = _length_correlation(result)
    if evaluation is not None:
        move.eval_mean = evaluation.fitness_mean
        move.eval_std = evaluation.fitness_std
        move.success_rate = evaluation.success_rate
        move.success_threshold = evaluation.success_threshold
        move.builtin_return = evaluation.builtin_return_mean
    return move


def _length_correlation(result: TrainResult) -> float | None:
    """How closely the fitness follows episode length: over the checkpoints, else the evaluation's episodes."""
    pairs = [(c.length_mean, c.fitness_mean) for c in result.checkpoints
             if c.length_mean is not None and c.fitness_mean is not None]  # fmt: skip
    found = _correlation([p[0] for p in pairs], [p[1] for p in pairs])
    if found is None and result.evaluation is not None:
        rollouts = result.evaluation.rollouts
        found = _correlation([float(r.length) for r in rollouts], [r.fitness for r in rollouts])
    return found


def failure_modes(
    components: list[ComponentTrendInfo], endings: EpisodeEndings, fitness: FitnessMovement, card: TaskCard | None,
    terminated: bool,
) -> list[Finding]:  # fmt: skip
    """The named failure modes (autoreward.failure_modes) these statistics show, most important first."""
    grew = max(components, key=lambda c: c.last - c.first, default=None)
    done = fitness.success_rate is not None and fitness.success_rate >= 0.5
    rose = fitness.trend == "rises" or modes.improved(fitness.first, fitness.last)
    # lasting is not a hack where the fitness is lasting, or where no fitness was measured to say otherwise
    lasting_is_fitness = (fitness.length_correlation or 0.0) >= LENGTH_IS_FITNESS or fitness.trend == "unknown"
    found: list[Finding | None] = []
    if card is not None and card.sparse:
        best = max((v for v in (fitness.best, fitness.eval_mean) if v is not None), default=None)
        silent = [c.name for c in components if c.trend == "never fires"]
        found.append(modes.sparse_unreached(card.subgoal_fields, silent, best))
    found.append(
        modes.return_against_fitness(
            fitness.reward_first, fitness.reward_last, fitness.trend, fitness.first, fitness.last,
            fitness.reward_fitness_correlation, grew.name if grew is not None and grew.last > grew.first else None,
            sparse=card is not None and card.sparse,
        )
    )  # fmt: skip
    for c in components:
        if c.constant is not None and not (rose or lasting_is_fitness):
            found.append(modes.survival_hacking(c.name, c.constant, c.share, terminated, endings.length_first,
                                                endings.length_last, done))  # fmt: skip
    found += [modes.flooding(c.name, c.share) for c in components if c.dominates and not rose]
    found += [modes.constant_term(c.name, c.constant, terminated) for c in components if c.constant is not None]
    kept = [f for f in found if f is not None]
    flooded_by_survival = {f.component for f in kept if f.kind == "survival_hacking"}
    kept = [f for f in kept if not (f.kind == "flooding" and f.component in flooded_by_survival)]
    return sorted(kept, key=lambda f: modes.MODES.index(f.kind))


def findings(result: TrainResult, components: list[ComponentTrendInfo], endings: EpisodeEndings,
             fitness: FitnessMovement, card: TaskCard | None = None) -> list[Finding]:  # fmt: skip
    """What the statistics say to change, most important first: failures, then the named failure modes, then
    the remaining observations."""
    out: list[Finding] = []
    if result.status == "failed":
        out.append(Finding(kind=f"failed_{result.failure or 'internal'}", value=result.error_line))
    if result.checkpoints and endings.episodes == 0:
        out.append(Finding(kind="no_episodes"))
    terminated = any(c.terminated for c in result.checkpoints)
    named = failure_modes(components, endings, fitness, card, terminated) if result.checkpoints else []
    out += named
    out += [Finding(kind="never_fires", component=c.name) for c in components if c.trend == "never fires"]
    if fitness.trend == "falls":
        out.append(Finding(kind="fitness_falls", value=fitness.last))
    corr = fitness.reward_fitness_correlation
    against = any(f.kind in ("sign_error", "reward_hacking") for f in named)
    if corr is not None and corr < 0.2 and not against:
        out.append(Finding(kind="reward_not_aligned", value=corr))
    elif fitness.trend == "flat" and not against:
        out.append(Finding(kind="fitness_flat", value=fitness.last))
    limit = endings.max_episode_steps
    ended = endings.terminated_last
    if ended is not None and ended > 0.5 and (limit is None or (endings.length_last or 0) < 0.5 * limit):
        out.append(Finding(kind="early_termination", value=endings.length_last))
    out += [Finding(kind="stalls", component=c.name) for c in components if c.trend == "stalls" and not c.dominates]
    if fitness.success_rate is not None:
        out.append(Finding(kind="success" if fitness.success_rate >= 0.5 else "below_threshold",
                           value=fitness.success_rate))  # fmt: skip
    return out


def analyze(
    result: TrainResult, card: TaskCard | None = None, prompts_dir: Path | None = None, rollouts: int = 3
) -> Analysis:
    """The deterministic diagnosis of one candidate, its text rendered from ``analysis.j2``."""
    components = component_trends(result.checkpoints)
    endings = episode_endings(result.checkpoints, card)
    fitness = fitness_movement(result)
    analysis = Analysis(
        candidate_id=result.candidate_id,
        task=card.name if card else result.task,
        intent=card.intent if card else None,
        fitness_text=card.fitness_text if card else None,
        status=result.status,
        error=result.error,
        error_line=result.error_line,
        timesteps=result.timesteps,
        components=components,
        endings=endings,
        fitness=fitness,
        rollouts=list(result.evaluation.rollouts[:rollouts]) if result.evaluation else [],
        findings=findings(result, components, endings, fitness, card),
    )
    analysis.text = render("analysis.j2", prompts_dir, analysis=analysis)
    return analysis


def analyze_iteration(
    card: TaskCard | None, labelled: Sequence[tuple[str, TrainResult]], prompts_dir: Path | None = None,
    ranked_by: str | None = None,
) -> str:  # fmt: skip
    """Every candidate of one iteration, best true fitness first, as one text for the next prompt. With
    ``ranked_by`` (who ranked them: "a person"), ``labelled`` is in that ranking's order and keeps it: the advice
    leads with the candidate ranked first."""
    analyses = [(label, analyze(result, card, prompts_dir)) for label, result in labelled]

    def rank(item: tuple[str, Analysis]) -> float:
        a = item[1]
        value = a.fitness.eval_mean if a.status == "ok" else None
        return -value if value is not None else math.inf

    ranked = analyses if ranked_by else sorted(analyses, key=rank)
    lead = modes.top(ranked[0][1].findings) if ranked else []
    return render("analysis_iteration.j2", prompts_dir, analyses=ranked, card=card, lead=lead, ranked_by=ranked_by)


def summarize(analysis: Analysis, complete: Callable[[str], str], prompts_dir: Path | None = None,
              **context: Any) -> str:  # fmt: skip
    """An optional LLM summary of the diagnosis: ``complete`` takes the prompt and returns the model's text."""
    prompt = render("analysis_summary.j2", prompts_dir, analysis=analysis, **context)
    return complete(prompt).strip()


def hacking_flag(result: dict[str, Any] | None) -> str | None:
    """A stored training result's reward hacking (or sign error) as one line for ``show`` and the web page: the
    candidate's own return rose while the true fitness stalled or fell. None when training shows neither."""
    if not result or not result.get("checkpoints"):
        return None
    try:
        train = TrainResult.model_validate(result)
    except ValidationError:  # a record this version cannot read: no flag rather than no page
        return None
    move = fitness_movement(train)
    components = component_trends(train.checkpoints)
    grew = max(components, key=lambda c: c.last - c.first, default=None)
    try:  # judged like the Analyzer judges it: on a sparse task a falling fitness is hacking, not a sign error
        sparse = resolve_task(train.task).sparse
    except AutorewardError:
        sparse = False
    found = modes.return_against_fitness(
        move.reward_first, move.reward_last, move.trend, move.first, move.last, move.reward_fitness_correlation,
        grew.name if grew is not None and grew.last > grew.first else None, sparse=sparse,
    )  # fmt: skip
    if found is None:
        return None
    e = found.evidence
    what = "reward hacking" if found.kind == "reward_hacking" else "sign error"
    return (
        f"{what}: own return {e['reward_first']:.3g} -> {e['reward_last']:.3g} while true fitness "
        f"{e['fitness_first']:.3g} -> {e['fitness_last']:.3g}"
    )
