"""The true fitness of a policy over separate evaluation episodes, with their own seeds.

The policy is any ``obs -> action`` callable, so this module needs no SB3 and can judge a baseline too.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from autoreward.envs.fitness import EpisodeFitness
from autoreward.envs.make import card_state_spec, make_card_env
from autoreward.envs.wrapper import ProgramReward, RewardFn
from autoreward.tasks import TaskCard
from autoreward.training.stats import EpisodeSummary, Evaluation

Policy = Callable[[np.ndarray], np.ndarray]

# Evaluation seeds start far from training seeds so that no evaluation episode replays a training one.
EVAL_SEED_OFFSET = 1_000_003
TRACE_POINTS = 10


def rollout(env: ProgramReward, policy: Policy, fitness: EpisodeFitness, seed: int) -> EpisodeSummary:
    """One deterministic episode; records fitness-so-far at ~10 points for trajectory analysis."""
    obs, info = env.reset(seed=seed)
    assert env.state is not None
    fitness.reset(env.state, info)
    horizon = env.spec.max_episode_steps if env.spec is not None and env.spec.max_episode_steps else 1000
    every = max(1, horizon // (10 * TRACE_POINTS))
    sums: dict[str, float] = {}
    trace: list[tuple[int, float]] = []
    builtin = reward = 0.0
    steps, terminated, truncated = 0, False, False
    while not (terminated or truncated):
        prev = env.state
        action = policy(obs)
        obs, r, terminated, truncated, info = env.step(action)
        steps += 1
        fitness.step(prev, action, env.state, info["builtin_reward"], info)
        builtin += info["builtin_reward"]
        reward += float(r)
        for name, value in info["reward_components"].items():
            sums[name] = sums.get(name, 0.0) + float(value)
        if steps % every == 0:
            trace.append((steps, fitness.result()))
    if not trace or trace[-1][0] != steps:
        trace.append((steps, fitness.result()))
    picks = sorted({round(i * (len(trace) - 1) / (TRACE_POINTS - 1)) for i in range(TRACE_POINTS)})
    trace = [trace[i] for i in picks]
    return EpisodeSummary(
        seed=seed,
        fitness=fitness.result(),
        length=steps,
        terminated=bool(terminated),
        builtin_return=builtin,
        reward_return=reward,
        component_sums=sums,
        fitness_trace=trace,
    )


def evaluate(card: TaskCard, policy: Policy, reward_fn: RewardFn | None, episodes: int, seed: int) -> Evaluation:
    """Fitness, success rate (where the card has a threshold) and the built-in return over ``episodes``."""
    spec = card.require_fitness()
    env = make_card_env(card)
    try:
        wrapped = ProgramReward(env, reward_fn, card_state_spec(card, env))
        fitness = EpisodeFitness(spec)
        rollouts = [rollout(wrapped, policy, fitness, EVAL_SEED_OFFSET + seed + i) for i in range(episodes)]
    finally:
        env.close()
    values = np.array([r.fitness for r in rollouts], dtype=float)
    threshold = card.success_threshold
    return Evaluation(
        episodes=len(rollouts),
        fitness_mean=float(values.mean()),
        fitness_std=float(values.std()),
        fitness_min=float(values.min()),
        fitness_max=float(values.max()),
        success_rate=float(np.mean(values >= threshold)) if threshold is not None else None,
        success_threshold=threshold,
        builtin_return_mean=float(np.mean([r.builtin_return for r in rollouts])),
        reward_return_mean=float(np.mean([r.reward_return for r in rollouts])),
        length_mean=float(np.mean([r.length for r in rollouts])),
        terminated_rate=float(np.mean([r.terminated for r in rollouts])),
        rollouts=rollouts,
    )
