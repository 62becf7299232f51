"""Wall time of one default `autoreward run TASK` iteration on this machine, LLM time excluded.

Default settings (K=4 samples, the card's training budget, workers = cores, videos on, the Critic's static and
dry-run stages); the scripted LLM server answers at once with four reasonable programs, so the figure is the
machine's share of an iteration: describe + critique + sandboxed training + evaluation + video + analysis.

    python bench/iteration.py [--task hopper-forward] [--timesteps N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from llm_server import ScriptedLLMServer, answer

from autoreward.config import load_settings
from autoreward.loop import Loop
from autoreward.observer import LoopObserver
from autoreward.parts import default_parts
from autoreward.runconfig import RunConfig
from autoreward.runs import create_run
from autoreward.store import RunStore
from autoreward.tasks import resolve_task

PROGRAMS = [
    "forward = 1.0 * state.x_velocity\n    alive = 1.0 if state.height > 0.8 else 0.0",
    "forward = 2.0 * state.x_velocity\n    alive = 0.5 * state.upright",
    "forward = state.x_velocity - 0.1 * abs(state.z_velocity)\n    alive = 1.0",
    "forward = 1.5 * (state.x_position - prev.x_position) / 0.008\n    alive = 1.0 if state.upright > 0.9 else 0.0",
]


def _program(body: str) -> str:
    return (
        "```python\nimport numpy as np\n\n\ndef compute_reward(prev, action, state):\n    "
        f"{body}\n    control = -1e-3 * float(np.sum(np.square(action)))\n"
        "    components = {'forward': forward, 'alive': alive, 'control': control}\n"
        "    return float(sum(components.values())), components\n```"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", default="hopper-forward")
    parser.add_argument("--timesteps", type=int, default=None, help="default: the card's budget")
    args = parser.parse_args()
    card = resolve_task(args.task)
    with ScriptedLLMServer([answer(*(_program(p) for p in PROGRAMS))]) as server, tempfile.TemporaryDirectory() as tmp:
        settings = load_settings({"model": "openai/test-model", "api_base": server.base_url, "samples": 4})
        config = RunConfig(task=card.name, iterations=1, timesteps=args.timesteps, llm_review=False, llm=settings)
        store = RunStore(Path(tmp))
        run_id = create_run(store, card, config, "iteration")
        started = time.perf_counter()
        Loop(store, run_id, card, default_parts(config, card), LoopObserver()).run()
        seconds = time.perf_counter() - started
        rows = store.candidates(run_id)
    walls = []
    for row in rows:
        wall = (row.result or {}).get("wall_s")
        walls.append(wall or 0.0)
        print(f"{row.name}: {row.status}, fitness {row.fitness}, candidate wall {wall} s")
    print(f"task: {card.name}")
    print(f"timesteps_per_candidate: {args.timesteps or card.timesteps}")
    print(f"candidate_wall_s_median: {sorted(walls)[len(walls) // 2]:.0f}")
    print(f"iteration_wall_s: {seconds:.0f}")
    print(f"iteration_wall_min: {seconds / 60:.1f}")


if __name__ == "__main__":
    main()
