"""Does the loop keep the best program, and how good is the policy it ends with?

The scripted LLM server (tests/llm_server.py) replays a fixed pool of programs of known quality for
cartpole-balance: +1 per step while the pole is up (the built-in reward, reading the State: the Critic rejects a
program that reads none), a shaped variant, weaker variants and broken ones (an unknown State field, a NaN).
Two iterations of three samples run through the real loop (Critic, sandboxed PPO, true-fitness evaluation).

The loop selects its program on a few episodes of one seed each, so that number is not the comparison: the
selected program and PPO on the env's built-in reward are both re-evaluated with ``autoreward evaluate``'s
machinery on fresh training seeds and fresh episodes (IQM, 95% CIs, P(improvement), by rliable). The loop also
trained K candidates to find its program; the ratio is printed twice: per policy (same budget each), and per
env step (one policy from the loop costs its whole search plus its own training). ``--equal-compute`` trains
the baseline seeds with the loop's whole search budget instead.

    python bench/loop_quality.py [--timesteps 20000] [--eval-episodes 10] [--seeds 5] [--equal-compute]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from llm_server import RecordedRequest, Reply, ScriptedLLMServer, answer

import autoreward
from autoreward.evaluation import BUILTIN, EvaluationSpec, Method, fresh_seeds, run_evaluation
from autoreward.evidence import summarize_evaluation
from autoreward.intervals import summarize
from autoreward.store import RunStore
from autoreward.tasks import resolve_task
from autoreward.training.sandboxed import train_in_sandbox

TASK = "cartpole-balance"


def _program(body: str) -> str:
    return (
        "```python\nimport math\n\nimport numpy as np\n\n\ndef compute_reward(prev, action, state):\n"
        f"{body}\n    return float(sum(components.values())), components\n```"
    )


POOL = {
    "alive": _program("    components = {'alive': 1.0 if abs(state.pole_angle) < 0.2 else 0.0}"),
    "shaped": _program(
        "    components = {'alive': 1.0, 'upright': 0.5 * math.cos(5.0 * state.pole_angle),"
        " 'centre': -0.1 * abs(state.cart_position)}"
    ),
    "weak": _program("    components = {'lean': 0.2 * abs(state.pole_angle), 'alive': 0.05}"),
    "weaker": _program("    components = {'speed': 0.1 * abs(state.cart_velocity)}"),
    "broken_field": _program("    components = {'balance': -abs(state.pole_tilt)}"),
    "broken_nan": _program("    components = {'log': float(np.log(state.cart_position - 10.0))}"),
}
ITERATIONS = (("alive", "weak", "broken_field"), ("shaped", "weaker", "broken_nan"))
GOOD = {"alive", "shaped"}


def script(request: RecordedRequest) -> Reply:
    revision = "Improve a reward function" in request.prompt_text
    return answer(*(POOL[name] for name in ITERATIONS[1 if revision else 0]))


def run_loop(timesteps: int, eval_episodes: int, root: Path) -> tuple[RunStore, str, float]:
    """Two iterations of three scripted samples through the public API (``autoreward.run``, the CLI's code path)."""
    with ScriptedLLMServer(script) as server:
        started = time.perf_counter()
        result = autoreward.run(
            TASK, model="openai/test-model", api_base=server.base_url, samples=3, iterations=2, timesteps=timesteps,
            llm_review=False, video=False, eval_episodes=eval_episodes, run_id="loop-quality", runs_dir=root,
        )  # fmt: skip
        return RunStore(root), result.run_id, time.perf_counter() - started


def evaluate_on_fresh_seeds(
    store: RunStore, program: str, name: str, timesteps: int, baseline_timesteps: int, seeds: int, episodes: int
) -> tuple[float, float, float]:
    """IQMs of the selected program and of the built-in reward over fresh seeds, and P(program > builtin)."""
    card = resolve_task(TASK)
    methods = [Method(name=name, source=program, origin="the loop's selection"),
               Method(name=BUILTIN, source=None, origin="the env's own reward", baseline=True)]  # fmt: skip
    spec = EvaluationSpec(task=TASK, methods=methods[:1], seeds=fresh_seeds(seeds), timesteps=timesteps,
                          episodes=episodes)  # fmt: skip
    baseline = spec.model_copy(update={"methods": methods[1:], "timesteps": baseline_timesteps})
    ids = []
    for part in (spec, baseline):
        evaluation_id = part.evaluation_id(card)
        store.create_evaluation(evaluation_id, TASK, part.model_dump(mode="json"), {})
        run_evaluation(store, evaluation_id, train_in_sandbox)
        ids.append(evaluation_id)
    selected, builtin = (summarize_evaluation(store, i).methods[0] for i in ids)
    both = summarize({name: selected.scores, BUILTIN: builtin.scores}, [BUILTIN])
    return selected.iqm.value, builtin.iqm.value, both[0].improvement[BUILTIN].value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timesteps", type=int, default=20000)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=5, help="fresh training seeds per side")
    parser.add_argument("--equal-compute", action="store_true", help="train builtin with the loop's search budget")
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
        searched = sum(r.result.get("timesteps", 0) for r in rows if r.result)  # the loop's whole search
        budget = searched + args.timesteps if args.equal_compute else args.timesteps
        loop_iqm, builtin_iqm, improvement = evaluate_on_fresh_seeds(
            store, store.source(best) or "", names[best], args.timesteps, budget, args.seeds, args.eval_episodes
        )
    loop_steps = searched + args.timesteps  # env steps to make one policy: the search, then its training
    baseline_steps = budget
    print(f"loop_wall_s: {seconds:.1f}")
    print(f"selected: {names[best]}")
    print(f"selected_is_best_trained: {int(best_fitness == max(trained.values()))}")
    print(f"selected_is_known_good: {int(names[best] in GOOD)}")
    print(f"broken_rejected: {int(all(r.status in ('rejected', 'failed') for r in rows if 'broken' in names[r.id]))}")
    print(f"loop_selection_fitness: {best_fitness:.1f}")
    print(f"loop_iqm_fresh_seeds: {loop_iqm:.1f}")
    print(f"builtin_iqm_fresh_seeds: {builtin_iqm:.1f}")
    print(f"p_loop_beats_builtin: {improvement:.3f}")
    print(f"env_steps_per_policy_loop: {loop_steps}")
    print(f"env_steps_per_policy_builtin: {baseline_steps}")
    print(f"compute_ratio_loop_to_builtin: {loop_steps / baseline_steps:.2f}")
    print(f"iqm_ratio_per_policy: {loop_iqm / builtin_iqm:.3f}")
    print(f"iqm_ratio_per_env_step: {(loop_iqm / builtin_iqm) / (loop_steps / baseline_steps):.3f}")


if __name__ == "__main__":
    main()
