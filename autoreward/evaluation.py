"""Multi-seed evaluation: every method (a reward program, or the env's built-in reward) retrained on fresh
training seeds and judged by the task's true fitness on fresh episodes, each finished seed stored at once.

An evaluation's id is a hash of what it trains, so running the same ``autoreward evaluate`` command again
resumes it: finished seeds are read back from the store, only the missing ones train.

The sample-efficiency curves are program-free too: each training saves its policy at ``CURVE_POINTS`` points
(the successive-halving rungs' mechanism, ``training.rungs``, with nothing cut), which the parent assesses in a
program-free job while training goes on; the curve's last point is the final evaluation. The training process's
own checkpoint fitness (it loaded the program, which may forge it) is plotted nowhere.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from autoreward.store import RunStore, SeedRow
from autoreward.tasks import TaskCard, resolve_task
from autoreward.training.models import EventSink, TrainJob, TrainResult
from autoreward.training.parallel import CandidateEvents, train_many
from autoreward.worker_report import checked_report

BUILTIN = "builtin"
# Training seeds of an evaluation start here, far above any run's candidates (seed + 1000 * iteration + index),
# so that no evaluation seed repeats a training seed of the run it judges.
SEED_BASE = 500_000
CURVE_POINTS = 4  # program-free assessments during each training, at 1/5 ... 4/5 of its budget
CURVE_EPISODES = 5  # episodes of each (at most the evaluation's own)

TrainOne = Callable[[TrainJob, Path, EventSink | None], TrainResult]


class Method(BaseModel):
    """One thing to evaluate: a reward program's source, or None for PPO on the env's own reward."""

    name: str = Field(description="label in tables: builtin, reference, a file's stem, RUN/CANDIDATE")
    source: str | None = None
    origin: str = Field(default="", description="where the program came from: a path or a candidate id")
    baseline: bool = False


class EvaluationSpec(BaseModel):
    """What an evaluation trains; its hash names it."""

    task: str = Field(description="catalog task name or path to a task card")
    methods: list[Method]
    seeds: list[int]
    timesteps: int | None = Field(default=None, gt=0, description="None: the card's budget")
    episodes: int = Field(default=10, ge=1)
    checkpoints: int = Field(default=10, ge=1)
    algorithm: str | None = Field(default=None, description="the learner, where not the card's own PPO")

    def evaluation_id(self, card: TaskCard) -> str:
        named = self.model_dump(mode="json", exclude={"algorithm"} if self.algorithm is None else set())
        digest = hashlib.sha256(json.dumps(named, sort_keys=True).encode()).hexdigest()
        return f"eval-{card.name}-{digest[:10]}"

    def method(self, name: str) -> Method:
        return next(m for m in self.methods if m.name == name)


def fresh_seeds(count: int, base: int = SEED_BASE) -> list[int]:
    return [base + i for i in range(count)]


def unique_names(methods: Sequence[Method]) -> list[Method]:
    """Methods with distinct names (a second ``reward.py`` becomes ``reward#2``)."""
    seen: dict[str, int] = {}
    named = []
    for m in methods:
        seen[m.name] = seen.get(m.name, 0) + 1
        named.append(m if seen[m.name] == 1 else m.model_copy(update={"name": f"{m.name}#{seen[m.name]}"}))
    return named


def seed_dir(store: RunStore, evaluation_id: str, spec: EvaluationSpec, method: str, seed: int) -> Path:
    """Files of one (method, seed): methods by position, so that any label is a safe directory name."""
    index = [m.name for m in spec.methods].index(method)
    return store.run_dir(evaluation_id) / f"method{index:02d}" / f"seed{seed}"


def pending(spec: EvaluationSpec, done: Sequence[SeedRow]) -> list[tuple[Method, int]]:
    finished = {(row.method, row.seed) for row in done}
    return [(m, s) for m in spec.methods for s in spec.seeds if (m.name, s) not in finished]


def run_evaluation(
    store: RunStore, evaluation_id: str, train_one: TrainOne, workers: int | None = None,
    on_event: CandidateEvents | None = None, on_stored: Callable[[SeedRow], None] | None = None,
) -> list[SeedRow]:  # fmt: skip
    """Train every (method, seed) the store lacks, storing each as it finishes; returns all stored seeds."""
    row = store.evaluation(evaluation_id)
    spec = EvaluationSpec.model_validate(row.spec)
    todo = pending(spec, store.seed_results(evaluation_id))
    jobs = [_job(evaluation_id, spec, method, seed) for method, seed in todo]
    scratches = [seed_dir(store, evaluation_id, spec, method.name, seed) for method, seed in todo]
    for scratch in scratches:
        shutil.rmtree(scratch, ignore_errors=True)  # a seed killed half-way trains again from the start
    by_id = {job.candidate_id: (method.name, seed) for job, (method, seed) in zip(jobs, todo, strict=True)}

    def store_one(job: TrainJob, result: TrainResult) -> None:
        method, seed = by_id[job.candidate_id]
        result, _ = checked_report(job, result, None)  # no Verdict here: any identifier name, finite numbers
        record = result.model_dump(mode="json")
        store.add_seed_result(evaluation_id, method, seed, result.status, result.fitness, record)
        if on_stored is not None:
            on_stored(next(r for r in store.seed_results(evaluation_id) if (r.method, r.seed) == (method, seed)))

    train_many(jobs, scratches, workers, on_event=on_event, on_result=store_one, train_one=train_one)
    return store.seed_results(evaluation_id)


def _job(evaluation_id: str, spec: EvaluationSpec, method: Method, seed: int) -> TrainJob:
    card = resolve_task(spec.task)
    if spec.algorithm is not None:
        card = card.model_copy(update={"algorithm": spec.algorithm})
    return TrainJob(
        candidate_id=f"{evaluation_id}/{method.name}/seed{seed}", task=spec.task, reward_source=method.source,
        card=card.model_dump(mode="json"), card_source=str(card.source or ""),
        timesteps=spec.timesteps, seed=seed, eval_episodes=spec.episodes, checkpoints=spec.checkpoints,
        video=False, plots=False, save_model=True, rungs=curve_steps(spec.timesteps or card.timesteps),
        rung_episodes=min(spec.episodes, CURVE_EPISODES),
    )  # fmt: skip


def curve_steps(total: int) -> list[int]:
    """Where a training's policy is assessed for the curves (the final evaluation adds the last point)."""
    return sorted({total * i // (CURVE_POINTS + 1) for i in range(1, CURVE_POINTS + 1)} - {0})


def fitness_by_method(spec: EvaluationSpec, rows: Sequence[SeedRow]) -> dict[str, list[float]]:
    """Final true fitness per method over the seeds that trained (a failed seed has no score)."""
    scores: dict[str, list[float]] = {m.name: [] for m in spec.methods}
    for row in rows:
        if row.status == "ok" and row.fitness is not None and row.method in scores:
            scores[row.method].append(float(row.fitness))
    return scores


def failures(rows: Sequence[SeedRow]) -> list[str]:
    """One line per failed seed, for the report."""
    return [f"{r.method} seed {r.seed}: {(r.result.get('error') or 'failed').splitlines()[0][:200]}"
            for r in rows if r.status != "ok"]  # fmt: skip


def curves(spec: EvaluationSpec, rows: Sequence[SeedRow]) -> dict[str, tuple[list[float], list[list[float]]]]:
    """Sample-efficiency data per method: the env steps of the program-free assessments and, per seed, the true
    fitness there (the rungs the parent measured, then the final evaluation). Only points every seed of the
    method has; a seed stored without them (before curves were program-free) is left out."""
    out: dict[str, tuple[list[float], list[list[float]]]] = {}
    for method in spec.methods:
        seeds = [r.result for r in rows if r.method == method.name and r.status == "ok" and r.result.get("rungs")]
        points = [{int(p["timesteps"]): float(p["fitness"]) for p in result["rungs"]} for result in seeds]
        common = sorted(set.intersection(*(set(p) for p in points))) if points else []
        if not common:
            continue
        steps = [float(t) for t in common]
        series = [[p[t] for t in common] for p in points]
        finals = [(result.get("evaluation") or {}).get("fitness_mean") for result in seeds]
        if all(f is not None for f in finals):
            steps.append(sum(float(result["timesteps"]) for result in seeds) / len(seeds))
            series = [[*s, float(f)] for s, f in zip(series, finals, strict=True)]
        out[method.name] = (steps, series)
    return out
