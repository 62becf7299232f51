"""Does the loop keep the best program, and how good is the policy it ends with?

The scripted LLM server (tests/llm_server.py) replays a fixed pool of programs of known quality for
cartpole-balance: the env's built-in reward rewritten in the contract (+1 per step), a shaped variant, weaker
variants and broken ones (an unknown State field, a NaN). Two iterations of three samples run through the real
loop (Critic, sandboxed PPO, true-fitness evaluation). The final policy's fitness is compared with plain SB3 PPO
trained on the env's built-in reward at the same budget, same hyper-parameters and evaluation seeds.

    python bench/loop_quality.py [--timesteps 20000] [--eval-episodes 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from llm_server import RecordedRequest, Reply, ScriptedLLMServer, answer

from autoreward.config import load_settings
from autoreward.loop import Loop
from autoreward.observer import LoopObserver
from autoreward.parts import default_parts
from autoreward.runconfig import RunConfig
from autoreward.runs import create_run
from autoreward.store import RunStore
from autoreward.tasks import resolve_task

TASK = "cartpole-balance"


def _program(body: str) -> str:
    return (
        "```python\nimport math\n\nimport numpy as np\n\n\ndef compute_reward(prev, action, state):\n"
        f"{body}\n    return float(sum(components.values())), components\n```"
    )


POOL = {
    "builtin": _program("    components = {'alive': 1.0}"),
    "shaped": _program(
        "    components = {'alive': 1.0, 'upright': 0.5 * math.cos(5.0 * state.pole_angle),"
        " 'centre': -0.1 * abs(state.cart_position)}"
    ),
    "weak": _program("    components = {'lean': 0.2 * abs(state.pole_angle), 'alive': 0.05}"),
    "weaker": _program("    components = {'speed': 0.1 * abs(state.cart_velocity)}"),
    "broken_field": _program("    components = {'balance': -abs(state.pole_tilt)}"),
    "broken_nan": _program("    components = {'log': float(np.log(state.cart_position - 10.0))}"),
}
ITERATIONS = (("builtin", "weak", "broken_field"), ("shaped", "weaker", "broken_nan"))
GOOD = {"builtin", "shaped"}


def script(request: RecordedRequest) -> Reply:
    revision = "Improve a reward function" in request.prompt_text
    return answer(*(POOL[name] for name in ITERATIONS[1 if revision else 0]))


def run_loop(timesteps: int, eval_episodes: int, root: Path) -> tuple[RunStore, str, float]:
    card = resolve_task(TASK)
    with ScriptedLLMServer(script) as server:
        settings = load_settings({"model": "openai/test-model", "api_base": server.base_url, "samples": 3})
        config = RunConfig(task=TASK, iterations=2, timesteps=timesteps, llm_review=False, video=False,
                           eval_episodes=eval_episodes, llm=settings)  # fmt: skip
        store = RunStore(root)
        run_id = create_run(store, card, config, "loop-quality")
        started = time.perf_counter()
        Loop(store, run_id, card, default_parts(config, card), LoopObserver()).run()
        return store, run_id, time.perf_counter() - started


def plain_sb3_fitness(timesteps: int, eval_episodes: int, seed: int) -> float:
    """PPO with the built-in reward (no autoreward wrapper in training), judged by the card's true fitness."""
    import gymnasium as gym
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    from autoreward.training.evaluator import evaluate
    from autoreward.training.hyperparams import ppo_kwargs, settings_for
    from autoreward.training.trainer import deterministic_policy

    torch.set_num_threads(1)
    card = resolve_task(TASK)
    settings = settings_for(card.env_id)
    venv = DummyVecEnv([lambda: gym.make(card.env_id) for _ in range(settings.n_envs)])
    model = PPO("MlpPolicy", venv, seed=seed, verbose=0, device="cpu", **ppo_kwargs(settings))
    model.learn(total_timesteps=timesteps)
    zero = lambda prev, action, state: (0.0, {})  # noqa: E731  (evaluation reads the true fitness only)
    return evaluate(card, deterministic_policy(model), zero, eval_episodes, seed).fitness_mean


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timesteps", type=int, default=20000)
    parser.add_argument("--eval-episodes", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store, run_id, seconds = run_loop(args.timesteps, args.eval_episodes, Path(tmp))
        rows = store.candidates(run_id)
        names = {row.id: ITERATIONS[row.iteration][row.idx] for row in rows}
        for row in rows:
            fitness = "-" if row.fitness is None else f"{row.fitness:.1f}"
            print(f"{names[row.id]:>13}  iteration {row.iteration + 1}  {row.status:>8}  fitness {fitness}")
        best = store.run(run_id).best_candidate
        best_fitness = store.run(run_id).best_fitness or 0.0
    trained = {names[r.id]: r.fitness for r in rows if r.fitness is not None}
    baseline = plain_sb3_fitness(args.timesteps, args.eval_episodes, seed=0)
    print(f"loop_wall_s: {seconds:.1f}")
    print(f"selected: {names[best]}")
    print(f"selected_is_best_trained: {int(best_fitness == max(trained.values()))}")
    print(f"selected_is_known_good: {int(names[best] in GOOD)}")
    print(f"broken_rejected: {int(all(r.status in ('rejected', 'failed') for r in rows if 'broken' in names[r.id]))}")
    print(f"plain_sb3_fitness: {baseline:.1f}")
    print(f"loop_fitness: {best_fitness:.1f}")
    print(f"fitness_ratio_to_plain_sb3: {best_fitness / baseline:.3f}")


if __name__ == "__main__":
    main()
