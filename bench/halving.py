"""Successive halving vs training every candidate to the end: compute and the candidate each one selects.

One iteration of K = 8 fixed programs (known good, mediocre and bad rewards), answered by the scripted
OpenAI-protocol LLM server (tests/llm_server.py) to the real ``autoreward run`` CLI, once with ``--prune`` and
once with ``--no-prune``, on each task. Compute is the env steps the candidates took (training plus the rungs'
program-free assessments, whose wall time the paused workers wait) and the candidates' worker seconds, pruned
over unpruned; the selected candidate is the run's best by the
final evaluation's true fitness (its own evaluation seeds, never seen in training), with its 95% interval over
the evaluation episodes. Goal: compute <= 0.4 with the same selected candidate (or one within its interval).

Each finished run (task, pruned or not, budget, seed) is stored under ``--root`` at once, so a killed or
per-task bench (``--tasks``) resumes where it stopped; ``--fresh`` measures again. Without ``--timesteps`` each
task trains its card's budget (``--fraction`` of it: early rungs are noise at tiny budgets, see the README).

    python bench/halving.py [--tasks hopper-forward,minigrid-doorkey-5x5] [--fraction 0.3] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the scripted LLM server the tests use

from llm_server import ScriptedLLMServer, answer  # noqa: E402

from autoreward.store import RunStore  # noqa: E402
from autoreward.tasks import resolve_task  # noqa: E402
from autoreward.training.halving import Halving, HalvingConfig  # noqa: E402
from autoreward.training.hyperparams import settings_for  # noqa: E402


def _program(*terms: str, helper: str = "") -> str:
    body = "\n".join(f"    {t}" for t in terms)
    return (f"```python\nimport numpy as np\n{helper}\n\ndef compute_reward(prev, action, state):\n{body}\n"
            "    return float(sum(components.values())), components\n```")  # fmt: skip


HOPPER = [  # good, mediocre and bad rewards for hopping forward, shuffled so the good ones are not first
    _program("components = {'still': -abs(state.x_velocity)}"),  # bad: stands still
    _program("components = {'alive': 1.0 if state.height > 0.8 else 0.0}"),  # mediocre: only survives
    _program("components = {'backward': -state.x_velocity, 'alive': 0.5}"),  # bad: hops backward
    _program(
        "components = {'forward': state.x_velocity, 'alive': 1.0 if state.height > 0.8 else 0.0,",
        "              'control': -1e-3 * float(np.sum(np.square(action)))}",
    ),  # good
    _program("components = {'upright': state.upright, 'low': -abs(state.height - 1.2)}"),  # mediocre
    _program("components = {'fall': -state.height}"),  # bad: pays for falling
    _program("components = {'forward': 1.5 * state.x_velocity, 'alive': 0.5 if state.height > 0.7 else 0.0}"),  # good
    _program("components = {'speed': 0.2 * abs(state.x_velocity), 'alive': 1.0}"),  # mediocre: either way
]
DOORKEY = [  # the good ones pay once per sub-goal reached (prev -> state) and for the goal; the mediocre ones pay
    # every step for holding the key or an open door, so their policies learn to stay (MiniGrid's own ending
    # would stop the pay): at 100000 steps they reach no goal
    _program("components = {'turn': 0.1 * abs(state.agent_dir - prev.agent_dir)}"),  # bad: turns in place
    _program("components = {'key': state.carrying['key'], 'step': -0.01}"),  # mediocre: holds the key
    _program("components = {'near_goal': -0.1 * max(state.distance['goal'], 0.0)}"),  # mediocre: walls in the way
    _program(
        "components = {'key': 1.0 * (state.carrying['key'] - prev.carrying['key']),",
        "              'door': 1.0 * (state.doors_open - prev.doors_open),",
        "              'goal': 5.0 if state.distance['goal'] == 0 else 0.0, 'step': -0.01}",
    ),  # good
    _program("components = {'far': 0.05 * max(state.distance['key'], 0.0)}"),  # bad: avoids the key
    _program("components = {'wall': 0.2 * state.front['wall']}"),  # bad: faces walls
    _program(
        "components = {'key': 0.5 * (state.carrying['key'] - prev.carrying['key']),",
        "              'door': 1.0 * (state.doors_open - prev.doors_open),",
        "              'closer': 0.05 * (prev.distance['goal'] - state.distance['goal']),",
        "              'goal': 10.0 if state.distance['goal'] == 0 else 0.0}",
    ),  # good
    _program(
        "components = {'key': 0.5 * state.carrying['key'], 'door': 1.0 * state.doors_open,",
        "              'goal': -0.05 * max(state.distance['goal'], 0.0), 'step': -0.005}",
    ),  # mediocre: pays every step for the held key and the open door, so it never walks through
]
POOLS = {"hopper-forward": HOPPER, "minigrid-doorkey-5x5": DOORKEY}


def budget(task: str, args: argparse.Namespace) -> int:
    return args.timesteps or max(1, round(resolve_task(task).timesteps * args.fraction))


def run_name(task: str, prune: bool, timesteps: int, seed: int) -> str:
    return f"{task}-{'prune' if prune else 'full'}-{timesteps}-s{seed}"


def run_once(task: str, prune: bool, args: argparse.Namespace, root: Path) -> dict:
    """One iteration of the 8 programs (stored under ``root``, read back when already there); env steps,
    worker seconds, wall and the selected candidate."""
    pool = POOLS[task]
    timesteps = budget(task, args)
    run_id = run_name(task, prune, timesteps, args.seed)
    saved = root / f"{run_id}.json"
    if saved.exists() and not args.fresh:
        return json.loads(saved.read_text())
    runs = root / "runs" / run_id  # a store of its own: a half-finished run is removed whole and started again
    shutil.rmtree(runs, ignore_errors=True)  # (a resumed one's wall time would be wrong)
    with ScriptedLLMServer(lambda request: answer(*pool)) as server:
        argv = [str(Path(sys.executable).parent / "autoreward"), "run", task, "--iterations", "1", "--samples",
                str(len(pool)), "--timesteps", str(timesteps), "--workers", str(args.workers), "--no-video",
                "--no-llm-review", "--eval-episodes", str(args.eval_episodes), "--seed", str(args.seed),
                "--prune" if prune else "--no-prune", "--run-id", run_id, "--quiet",
                "--model", "openai/test-model", "--api-base", server.base_url]  # fmt: skip
        env = {**os.environ, "OPENAI_API_KEY": "sk-bench", "AUTOREWARD_RUNS_DIR": str(runs), "MUJOCO_GL": "egl"}
        started = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{run_id} failed: {done.stderr[-2000:]}")
    store = RunStore(runs)
    rows = store.candidates(run_id)
    steps = 0.0
    worker_s = 0.0
    probe_steps = probe_s = 0.0
    for row in rows:
        result = row.result or {}
        rungs = result.get("rungs", [])
        probe_steps += sum(r.get("probe_steps", 0) for r in rungs)
        probe_s += sum(r.get("probe_s", 0.0) for r in rungs)
        steps += result.get("timesteps", 0)
        worker_s += result.get("wall_s", 0.0)
    steps += probe_steps
    best = store.best(run_id)
    if best is None or best.fitness is None:
        raise SystemExit(f"{run_id} trained no candidate")
    evaluation = (best.result or {}).get("evaluation") or {}
    half = 1.96 * evaluation.get("fitness_std", 0.0) / math.sqrt(max(1, evaluation.get("episodes", 1)))
    result = {
        "task": task, "prune": prune, "timesteps": timesteps, "env_steps": int(steps), "worker_s": round(worker_s, 1),
        "wall_s": round(wall, 1), "load": round(os.getloadavg()[0], 1), "statuses": [r.status for r in rows],
        "rung_probe_steps": int(probe_steps), "rung_probe_s": round(probe_s, 1),
        "selected": best.name, "fitness": best.fitness, "ci95": [best.fitness - half, best.fitness + half],
        "fitness_of": {r.name: r.fitness for r in rows},
        "pruned_at": {r.name: (r.result or {}).get("pruned", {}).get("timesteps") for r in rows
                      if (r.result or {}).get("pruned")},
    }  # fmt: skip
    saved.write_text(json.dumps(result))
    return result


def early_rankings(task: str, full: dict, args: argparse.Namespace) -> str:
    """Evidence for where a rung may go: at each checkpoint of the unpruned run, the PPO updates so far and
    whether Optuna's rule (factor 3, candidates in order) on that window's training-episode fitness would have
    kept every candidate that ends best ("kept") or cut one ("CUT")."""
    run_id = run_name(task, False, full["timesteps"], args.seed)
    rows = [r for r in RunStore(args.root / "runs" / run_id).candidates(run_id) if r.fitness is not None]
    best = max(r.fitness for r in rows)
    rollout = settings_for(resolve_task(task).env_id).rollout
    cells = []
    for k, checkpoint in enumerate(rows[0].result["checkpoints"]):
        halving = Halving(HalvingConfig(rungs=1))
        values = [(r.result["checkpoints"][k].get("fitness_mean") or 0.0) for r in rows]
        cut = [halving.report(r.name, 0, v) and r.fitness >= best for r, v in zip(rows, values, strict=True)]
        cells.append(f"{checkpoint['timesteps'] // rollout}u:{'CUT' if any(cut) else 'kept'}")
    return " ".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", default=",".join(POOLS))
    parser.add_argument("--timesteps", type=int, default=None, help="default: the card's budget times --fraction")
    parser.add_argument("--fraction", type=float, default=1.0, help="of the card's budget, without --timesteps")
    parser.add_argument("--root", type=Path, default=Path("halving-bench"), help="where runs and results live")
    parser.add_argument("--fresh", action="store_true", help="measure again, ignoring stored results")
    parser.add_argument("--only", choices=["prune", "full"], help="run one side only (a later call adds the other)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--eval-episodes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    summary: dict[str, float | str] = {}
    args.root.mkdir(parents=True, exist_ok=True)
    for task in args.tasks.split(","):
        sides = {}
        for prune in (False, True):
            if args.only is None or args.only == ("prune" if prune else "full"):
                sides[prune] = run_once(task, prune, args, args.root)
                print(json.dumps(sides[prune]), flush=True)
        if len(sides) < 2:
            continue
        full, cut = sides[False], sides[True]
        low, high = full["ci95"]
        same = cut["selected"] == full["selected"] or low <= (cut["fitness"] or -math.inf) <= high
        summary[f"{task}_timesteps"] = full["timesteps"]
        summary[f"{task}_load"] = f"{full['load']} / {cut['load']}"
        summary[f"{task}_steps_ratio"] = round(cut["env_steps"] / full["env_steps"], 3)
        summary[f"{task}_worker_s_ratio"] = round(cut["worker_s"] / full["worker_s"], 3)
        summary[f"{task}_wall_ratio"] = round(cut["wall_s"] / full["wall_s"], 3)
        summary[f"{task}_rung_probe_steps"] = f"{cut['rung_probe_steps']} ({cut['rung_probe_s']} s paused at rungs)"
        summary[f"{task}_same_selection"] = "yes" if same else "no"
        summary[f"{task}_best_kept_at_updates"] = early_rankings(task, full, args)
    print(f"load: {os.getloadavg()[0]:.1f}")
    for name, value in summary.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
