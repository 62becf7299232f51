"""Do the loop's rewards train better policies than the env's own reward? The yardstick of issue 14.

For each task of a tier, the real loop runs through the command line (``autoreward run``, so the same code path
as a user's run; the embedded model by default), then two things train on fresh seeds and are judged on the
task's true fitness over fresh evaluation episodes:
- the loop's best program, retrained at the loop's per-candidate budget (the evaluation is not the one that
  selected it, so it carries no selection bias);
- the baseline: PPO on the env's built-in reward (``TrainJob(reward_source=None)``) with **the same total env
  steps the loop spent** on all its candidates.
Both use the same training seeds and the same evaluation episodes. With ``--from-builtin`` the loop run also
trains the env's own reward as a candidate (``autoreward run --from builtin``), and the table adds its in-run
fitness (``run_builtin``) beside the LLM's best in-run fitness (``run_best``): the same run, the same budget per
candidate. That candidate is a yardstick: it counts in no sample, valid rate, env steps or selection. Each
finished piece (the loop run, every seed) is stored under ``--root`` at once, so a killed bench resumes where it
stopped (``autoreward resume`` for a half-finished loop run).

    python bench/reward_quality.py [--tier cheap|mujoco] [--tasks a,b] [--model local] [--iterations 2]
        [--samples K] [--resample R] [--timesteps T] [--seeds 3] [--eval-episodes 10] [--from-builtin] [--root DIR]
        [--intent-only] [--design-only]

``--intent-only`` runs each card as a new user writes it: its ``subgoals`` and ``family`` stripped (the tool
must plan the stages and infer the family itself). ``--design-only`` stops each run before training (describe,
plan, design, critique, re-sample) and prints only the design columns: valid programs per sample, duplicates.

Per task the table shows valid programs per sample (accepted by the Critic, duplicates of accepted ones
included), duplicates, the best candidate's fresh fitness and success rate, the baseline's, env steps, wall
and LLM minutes. Last lines: ``valid_rate``, ``tasks_solved`` (fresh success >= 0.95), ``beats_builtin`` (higher
fresh fitness than the baseline, or equal with both solved), ``median_wall_min``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

from autoreward.errors import TaskError
from autoreward.store import CandidateRow, RunStore
from autoreward.tasks import resolve_task
from autoreward.training.models import TrainJob, TrainResult
from autoreward.training.parallel import cores, train_many

TIERS = {
    "cheap": [
        "cartpole-balance", "mountaincar-reach", "pendulum-swingup", "acrobot-swingup",
        "minigrid-doorkey-5x5", "minigrid-doorkey-8x8", "minigrid-keycorridor", "minigrid-lavagap",
    ],
    "mujoco": ["hopper-forward", "hopper-backward", "halfcheetah-forward", "walker-forward"],
}  # fmt: skip
SOLVED = 0.95  # share of fresh evaluation episodes at or above the card's success threshold
FRESH_SEED_BASE = 700_000  # far from every run's training seeds (seed + 1000 * iteration + index)
VALID = ("accepted", "training", "trained", "failed", "pruned")  # passed the Critic
CLI = [str(Path(sys.executable).parent / "autoreward")]  # the command a user runs


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tier", choices=sorted(TIERS), default="cheap", help="mujoco: the cheap tier plus MuJoCo")
    parser.add_argument("--tasks", help="comma-separated subset (default: the whole tier)")
    parser.add_argument("--model", default="local", help="any litellm model string; default the embedded one")
    parser.add_argument("--api-base")
    parser.add_argument("--iterations", type=int, default=3, help="loop iterations (the run's default: 3)")
    parser.add_argument("--samples", type=int, help="programs per iteration (default: the model's)")
    parser.add_argument("--resample", type=int, help="rounds replacing rejected programs (default: the model's)")
    parser.add_argument("--timesteps", type=int, help="per-candidate budget (default: the card's)")
    parser.add_argument("--seeds", type=int, default=3, help="fresh training seeds per method (>= 3)")
    parser.add_argument("--eval-episodes", type=int, default=10, help="fresh evaluation episodes per seed")
    parser.add_argument("--workers", type=int, help="parallel trainings (default: the cores)")
    parser.add_argument("--from-builtin", action="store_true", help="the run trains the env's own reward too")
    parser.add_argument("--root", type=Path, default=Path("reward-quality-runs"), help="where runs and results live")
    parser.add_argument("--intent-only", action="store_true", help="strip the cards' shaping hints (subgoals, family)")
    parser.add_argument("--design-only", action="store_true", help="stop each run before training")
    return parser.parse_args()


def _settings_key(args: argparse.Namespace, task: str) -> str:
    """Names a task's results by everything that changes them: a different budget is a different entry."""
    what = [task, args.model, args.api_base, args.iterations, args.samples, args.resample, args.timesteps,
            args.seeds, args.eval_episodes] + (["from-builtin"] if args.from_builtin else [])  # fmt: skip
    what += [flag for flag in ("intent_only", "design_only") if getattr(args, flag)]
    return hashlib.sha256(json.dumps(what).encode()).hexdigest()[:8]


class Results:
    """One task's finished pieces as one JSON file, rewritten after each: what a resumed bench reads back. One
    file per task and settings, so benches on disjoint tasks may run at the same time on one root."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        tmp.replace(self.path)


HINTS = ("subgoals", "family")  # what --intent-only strips: the card keeps its env, intent and fitness


def intent_only_card(task: str, folder: Path) -> Path:
    """The catalog card ``task`` without its shaping hints, written to ``folder`` (a card a new user writes)."""
    source = resolve_task(task).source
    assert source is not None
    data = {k: v for k, v in tomllib.loads(source.read_text()).items() if k not in HINTS}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / source.name
    path.write_text("".join(f"{key} = {_toml(value)}\n" for key, value in data.items()))
    return path


def _toml(value: Any) -> str:
    """A card's value as TOML: JSON's strings, numbers, booleans and arrays are TOML's; tables go inline."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def design_only(args: argparse.Namespace, task: str, run_id: str) -> None:
    """The run's first iteration up to training, in this process (``Loop.first_design``); stored like a run."""
    from autoreward.config import LLMSettings
    from autoreward.local_llm.endpoint import serving
    from autoreward.loop import Loop
    from autoreward.observer import LoopObserver
    from autoreward.parts import default_parts
    from autoreward.runconfig import RunConfig
    from autoreward.runs import create_run

    store = RunStore(args.root / "runs")
    card = resolve_task(task)
    settings = LLMSettings(model=args.model, api_base=args.api_base, samples=args.samples, resample=args.resample)
    config = RunConfig(task=task, iterations=1, llm_review=False, video=False, llm=settings)
    if not any(r.id == run_id for r in store.runs()):
        create_run(store, card, config, run_id)
    with serving(settings, log_file=args.root / f"{run_id}-llm.log") as llm:
        Loop(store, run_id, card, default_parts(config, card), LoopObserver(), llm).first_design()


def run_loop(args: argparse.Namespace, task: str, run_id: str, entry: dict[str, Any], results: Results) -> None:
    """``autoreward run`` (or ``resume`` after a kill) until the run is finished; wall time adds up over sessions."""
    store = RunStore(args.root / "runs")
    exists = any(r.id == run_id for r in store.runs())
    if exists and store.run(run_id).status == "finished":
        return
    if exists:
        command = [*CLI, "resume", run_id]
    else:
        command = [*CLI, "run", task, "--run-id", run_id, "--model", args.model, "--iterations", str(args.iterations),
                   "--seed", "0", "--no-video", "--eval-episodes", str(args.eval_episodes)]  # fmt: skip
        for flag, value in (("--samples", args.samples), ("--timesteps", args.timesteps), ("--resample", args.resample),
                            ("--workers", args.workers), ("--api-base", args.api_base)):  # fmt: skip
            if value is not None:
                command += [flag, str(value)]
        if args.from_builtin:
            command += ["--from", "builtin"]
    command += ["--runs-dir", str(args.root / "runs"), "--quiet"]
    log = args.root / f"{run_id}.log"
    started = time.perf_counter()
    with log.open("a") as out:
        code = subprocess.call(command, stdout=out, stderr=subprocess.STDOUT)
    entry["loop_wall_s"] = entry.get("loop_wall_s", 0.0) + time.perf_counter() - started
    results.save()
    if code != 0:
        raise SystemExit(f"{task}: `autoreward {' '.join(command[1:])}` exited {code}; see {log}")


def _original_valid(row: CandidateRow, rows: list[CandidateRow]) -> bool:
    """A duplicate counts as valid when the program it repeats passed the Critic."""
    reasons = (row.verdict or {}).get("reasons", [])
    text = " ".join(r.get("message", "") for r in reasons)
    for other in rows:
        label = f"iteration {other.iteration + 1}, candidate {other.idx + 1}"
        if other.status in VALID and f"the same program as {label} " in text:
            return True
    return False


def loop_summary(store: RunStore, run_id: str) -> dict[str, Any]:
    """What the stored run shows: samples, valid ones, duplicates, env steps, LLM time, the best program."""
    everything = store.candidates(run_id)
    builtin = next((r for r in everything if r.builtin), None)
    rows = [r for r in everything if not r.builtin]  # the env's own reward is a yardstick, not a sample
    valid = [r for r in rows if r.status in VALID or (r.status == "duplicate" and _original_valid(r, rows))]
    results = [TrainResult.model_validate(r.result) for r in rows if r.result is not None]
    trained = [r for r in rows if r.status == "trained" and r.fitness is not None]
    best = max(trained, key=lambda r: r.fitness or 0.0, default=None)
    llm_s = sum(float(c.record.get("latency_s", 0.0)) for c in store.llm_calls(run_id))
    return {
        "samples": len(rows),
        "valid": len(valid),
        "duplicates": sum(r.status == "duplicate" for r in rows),
        "trained": len(results),
        "env_steps": sum(r.timesteps for r in results),
        "llm_s": llm_s,
        "best_id": best.id if best else None,
        "best_loop_fitness": best.fitness if best else None,
        "best_source": store.source(best.id) if best else None,
        "builtin_loop_fitness": builtin.fitness if builtin else None,
    }


def fresh_evaluation(args: argparse.Namespace, task: str, entry: dict[str, Any], results: Results) -> None:
    """The best program and the built-in reward on the same fresh seeds; each finished seed is stored at once."""
    loop = entry["loop"]
    seeds = [FRESH_SEED_BASE + i for i in range(args.seeds)]
    budgets = {"best": args.timesteps or resolve_task(task).timesteps, "builtin": max(loop["env_steps"], 1)}
    sources = {"best": loop["best_source"], "builtin": None}
    jobs, scratches = [], []
    for method in ("best", "builtin"):
        done = entry.setdefault(method, {})
        if method == "best" and sources["best"] is None:
            continue  # no program trained: nothing to evaluate
        for seed in seeds:
            if str(seed) in done:
                continue
            jobs.append(TrainJob(candidate_id=f"{method}-{seed}", task=task, reward_source=sources[method],
                                 timesteps=budgets[method], seed=seed, eval_episodes=args.eval_episodes,
                                 plots=False, save_model=False))  # fmt: skip
            scratches.append(args.root / "fresh" / entry["run_id"] / f"{method}-{seed}")

    def store(job: TrainJob, result: TrainResult) -> None:
        method, _, seed = job.candidate_id.partition("-")
        evaluation = result.evaluation
        entry[method][seed] = {
            "status": result.status, "error": result.error, "timesteps": result.timesteps,
            "fitness": evaluation.fitness_mean if evaluation else None,
            "success": evaluation.success_rate if evaluation else None,
        }  # fmt: skip
        results.save()

    train_many(jobs, scratches, args.workers, on_result=store)


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


def row(task: str, entry: dict[str, Any]) -> dict[str, Any]:
    loop = entry["loop"]

    def seeds(method: str, what: str) -> float | None:
        return _mean([s[what] for s in entry.get(method, {}).values()])

    out = {
        "task": task, "valid": f"{loop['valid']}/{loop['samples']}", "dup": loop["duplicates"],
        "best_fit": seeds("best", "fitness"), "best_succ": seeds("best", "success"),
        "base_fit": seeds("builtin", "fitness"), "base_succ": seeds("builtin", "success"),
        "run_best": loop["best_loop_fitness"], "run_builtin": loop.get("builtin_loop_fitness"),
        "steps": loop["env_steps"], "wall_min": entry.get("loop_wall_s", 0.0) / 60, "llm_min": loop["llm_s"] / 60,
    }  # fmt: skip
    out["solved"] = (out["best_succ"] or 0.0) >= SOLVED
    base_solved = (out["base_succ"] or 0.0) >= SOLVED
    best, base = out["best_fit"], out["base_fit"]
    out["beats"] = best is not None and (base is None or best > base or (best == base and out["solved"]))
    out["beats"] = out["beats"] and not (base_solved and not out["solved"])
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _print(table: list[dict[str, Any]], columns: list[str]) -> None:
    """The table, then the valid rate over all its samples."""
    widths = {c: max(len(c), *(len(_fmt(r[c])) for r in table)) for c in columns}
    print()
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for r in table:
        print("  ".join(_fmt(r[c]).ljust(widths[c]) for c in columns))
    print()
    samples = sum(int(r["valid"].split("/")[1]) for r in table)
    valid = sum(int(r["valid"].split("/")[0]) for r in table)
    print(f"valid_rate: {valid / samples if samples else 0.0:.3f}")


def main() -> None:
    args = _args()
    if args.seeds < 1:
        raise SystemExit("--seeds must be at least 1 (the issue asks for >= 3)")
    tasks = args.tasks.split(",") if args.tasks else TIERS["cheap"] + (TIERS["mujoco"] if args.tier == "mujoco" else [])
    for task in tasks:
        try:
            resolve_task(task)  # an unknown name stops here, before any work
        except TaskError as err:
            raise SystemExit(str(err)) from None
    args.root.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MUJOCO_GL", "egl")
    (args.root / "results").mkdir(exist_ok=True)
    load = os.getloadavg()[0]
    print(f"model {args.model}; iterations {args.iterations}; samples {args.samples or 'model default'}; "
          f"timesteps {args.timesteps or 'card'}; seeds {args.seeds}; eval episodes {args.eval_episodes}; "
          f"cores {cores()}; load average at start {load:.1f}", flush=True)  # fmt: skip
    table = []
    for task in tasks:
        key = _settings_key(args, task)
        results = Results(args.root / "results" / f"{task}-{key}.json")
        entry = results.data
        entry["run_id"] = f"rq-{task}-{key}"
        card = str(intent_only_card(task, args.root / "cards")) if args.intent_only else task
        if args.design_only:
            started = time.perf_counter()
            design_only(args, card, entry["run_id"])
            entry["loop_wall_s"] = time.perf_counter() - started
        else:
            run_loop(args, card, entry["run_id"], entry, results)
        entry["loop"] = loop_summary(RunStore(args.root / "runs"), entry["run_id"])
        results.save()
        if args.design_only:
            loop = entry["loop"]
            table.append({"task": task, "valid": f"{loop['valid']}/{loop['samples']}", "dup": loop["duplicates"],
                          "wall_min": entry["loop_wall_s"] / 60, "llm_min": loop["llm_s"] / 60})  # fmt: skip
            print(f"{task}: {loop['valid']} valid of {loop['samples']} samples", flush=True)
            continue
        fresh_evaluation(args, task, entry, results)
        table.append(row(task, entry))
        print(f"{task}: done ({_fmt(table[-1]['best_fit'])} vs built-in {_fmt(table[-1]['base_fit'])})", flush=True)

    if args.design_only:
        _print(table, ["task", "valid", "dup", "wall_min", "llm_min"])
        return
    columns = ["task", "valid", "dup", "best_fit", "best_succ", "base_fit", "base_succ", "steps", "wall_min",
               "llm_min", "solved", "beats"]  # fmt: skip
    if args.from_builtin:
        columns[3:3] = ["run_best", "run_builtin"]
    _print(table, columns)
    print(f"tasks_solved: {sum(r['solved'] for r in table)} of {len(table)}")
    print(f"beats_builtin: {sum(r['beats'] for r in table)} of {len(table)}")
    print(f"median_wall_min: {statistics.median(r['wall_min'] for r in table):.1f}")


if __name__ == "__main__":
    main()
