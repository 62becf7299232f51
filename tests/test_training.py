"""Training, evaluation and videos with real SB3 PPO and real envs, at small budgets."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autoreward.envs.make import card_state_spec, make_card_env
from autoreward.envs.wrapper import ProgramReward
from autoreward.reward import RewardProgramError, load_reward, locate_nonfinite
from autoreward.tasks import resolve_task
from autoreward.training.evaluator import evaluate
from autoreward.training.hyperparams import model_kwargs, settings_for
from autoreward.training.job import TrainJob, train_candidate
from autoreward.training.parallel import train_many
from autoreward.training.stats import WindowRecorder
from autoreward.training.tracking import tracked_env

CARTPOLE_GOOD = """\
def compute_reward(prev, action, state):
    upright = 1.0 - abs(float(state.obs[2])) / 0.21
    centre = -0.1 * abs(float(state.obs[0]))
    components = {"upright": upright, "centre": centre}
    return float(sum(components.values())), components
"""

# Pays for a leaning pole: the policy learns to drop it, so episodes (the fitness) get short.
CARTPOLE_BAD = """\
def compute_reward(prev, action, state):
    lean = 5.0 * abs(float(state.obs[2]))
    components = {"lean": lean}
    return float(sum(components.values())), components
"""

HOPPER_GOOD = """\
import numpy as np


def compute_reward(prev, action, state):
    forward = state.x_velocity
    alive = 1.0 if state.height > 0.8 else 0.0
    control = -1e-3 * float(np.sum(np.square(action)))
    components = {"forward": forward, "alive": alive, "control": control}
    return float(sum(components.values())), components
"""

HOPPER_RAISES = """\
CALLS = [0]


def compute_reward(prev, action, state):
    CALLS[0] += 1
    forward = state.x_velocity
    if CALLS[0] == 500:
        raise ValueError("deliberately broken at call 500")
    components = {"forward": forward}
    return float(forward), components
"""

HOPPER_NAN = """\
import numpy as np


def compute_reward(prev, action, state):
    forward = state.x_velocity
    lift = np.log(state.height - 1.2)
    components = {"forward": forward, "lift": lift}
    return float(forward + lift), components
"""


def _line_of(source: str, text: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if text in line)


# --- fast: the pieces ---------------------------------------------------------------------------------------


def test_syntax_error_names_the_program_line() -> None:
    with pytest.raises(RewardProgramError) as err:
        load_reward("def compute_reward(prev, action, state):\n    return 1.0 +\n")
    assert err.value.line == 2


def test_missing_function_is_reported() -> None:
    with pytest.raises(RewardProgramError, match="compute_reward"):
        load_reward("def reward(prev, action, state):\n    return 0.0, {}\n")


def test_nonfinite_line_is_located_by_tracing() -> None:
    fn = load_reward("import math\n\ndef compute_reward(p, a, s):\n    x = 1.0\n    y = math.inf - math.inf\n"
                     "    return x + y, {'x': x, 'y': y}\n")  # fmt: skip
    assert locate_nonfinite(fn, None, None, None) == 5


def test_zoo_settings_are_used_for_every_env_version() -> None:
    hopper = settings_for("Hopper-v5")
    assert hopper is settings_for("Hopper-v3")
    assert hopper.normalize and hopper.ppo["n_steps"] == 512 and hopper.ppo["batch_size"] == 32
    assert "rl-baselines3-zoo" in hopper.source
    assert "no rl-zoo3 entry" in settings_for("MyOwnRobot-v0").source
    kwargs = model_kwargs(settings_for("CartPole-v1"), {"n_epochs": 3})
    assert kwargs["n_epochs"] == 3
    assert kwargs["learning_rate"](1.0) == pytest.approx(0.001)
    assert kwargs["learning_rate"](0.5) == pytest.approx(0.0005)
    policy = model_kwargs(hopper)["policy_kwargs"]
    assert policy["net_arch"] == {"pi": [256, 256], "vf": [256, 256]}


def test_minigrid_policies_are_evaluated_by_sampling_reproducibly(tmp_path: Path) -> None:
    """A memoryless MiniGrid policy loops on its argmax, so its true fitness samples its actions (with a generator
    seeded by the job); CartPole keeps the argmax. The same job gives the same actions twice."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    from autoreward.training.saved_policy import load_policy, save_policy

    assert settings_for("MiniGrid-DoorKey-8x8-v0").deterministic_eval is False
    assert settings_for("CartPole-v1").deterministic_eval is True
    runs = {}
    for task in ("minigrid-doorkey-5x5", "cartpole-balance"):
        card = resolve_task(task)
        settings = settings_for(card.env_id)
        model = PPO(settings.policy_class, DummyVecEnv([lambda card=card: make_card_env(card)]), seed=0,
                    **model_kwargs(settings, {}))  # fmt: skip
        (tmp_path / task).mkdir()
        save_policy(model, tmp_path / task)
        job = TrainJob(candidate_id=task, task=task, reward_source=None, timesteps=1, seed=7)
        obs = make_card_env(card).reset(seed=0)[0][None]
        runs[task] = []
        for _ in range(2):  # each evaluation job loads the policy once, then plays
            policy = load_policy(card, job, tmp_path / task)
            runs[task].append([int(np.ravel(policy(obs))[0]) for _ in range(40)])
    sampled, again = runs["minigrid-doorkey-5x5"]
    assert sampled == again and len(set(sampled)) > 1  # an untrained policy samples several actions, reproducibly
    argmax, _ = runs["cartpole-balance"]
    assert len(set(argmax)) == 1


def test_tracked_env_records_components_and_episode_fitness() -> None:
    card = resolve_task("cartpole-balance")
    env = make_card_env(card)
    recorder = WindowRecorder()
    tracked = tracked_env(ProgramReward(env, load_reward(CARTPOLE_GOOD), card_state_spec(card, env)),
                         card.fitness_spec, recorder)  # fmt: skip
    tracked.reset(seed=0)
    steps = 0
    while len(recorder.episodes) < 3:
        _, _, terminated, truncated, info = tracked.step(tracked.action_space.sample())
        steps += 1
        assert "reward_components" not in info  # consumed, so the vec env does not deep-copy it each step
        if terminated or truncated:
            tracked.reset()
    checkpoint = recorder.drain(timesteps=steps, fps=0.0)
    assert checkpoint.steps == steps and checkpoint.episodes == 3
    lengths = [e.length for e in recorder.episodes] or None
    assert lengths is None  # drained
    # episode_length fitness: each episode's fitness is its length, so their sum is the step count
    assert checkpoint.fitness_mean == pytest.approx(steps / 3)
    assert set(checkpoint.components) == {"upright", "centre"}
    assert sum(c.share for c in checkpoint.components.values()) == pytest.approx(1.0)
    for c in checkpoint.components.values():
        assert c.min <= c.mean <= c.max
    env.close()


def test_envs_sharing_a_recorder_are_reduced_at_each_checkpoint() -> None:
    """Each env accumulates its own steps in one pass; a checkpoint reduces them, and an episode that spans two
    windows keeps its whole sum."""
    card = resolve_task("cartpole-balance")
    recorder = WindowRecorder()
    logs: list[list[dict[str, float]]] = [[], []]

    def program_for(log: list[dict[str, float]]) -> Any:
        def program(prev: Any, action: Any, state: Any) -> tuple[float, dict[str, float]]:
            comps = {"x": float(state.obs[0]), "tilt": -abs(float(state.obs[2])), "right": float(state.obs[1] > 0)}
            log.append(comps)
            return math.fsum(comps.values()), comps

        return program

    envs = []
    for log in logs:
        env = make_card_env(card)
        envs.append(tracked_env(ProgramReward(env, program_for(log), card_state_spec(card, env)), None, recorder))
    for i, env in enumerate(envs):
        env.reset(seed=i)
    starts = [0, 0]
    expected_sums: list[dict[str, float]] = []
    for _ in range(2):
        window = [len(log) for log in logs]
        for _ in range(150):
            for i, env in enumerate(envs):
                *_, terminated, truncated, _ = env.step(env.action_space.sample())
                if terminated or truncated:
                    episode = logs[i][starts[i] :]
                    expected_sums.append({k: math.fsum(c[k] for c in episode) for k in episode[0]})
                    starts[i] = len(logs[i])
                    env.reset()
        steps = [c for log, start in zip(logs, window, strict=True) for c in log[start:]]
        episodes = list(recorder.episodes)
        checkpoint = recorder.drain(timesteps=len(logs[0]) * 2, fps=0.0)
        assert checkpoint.steps == len(steps) == 300 and checkpoint.episodes == len(episodes) > 2
        for name, stats in checkpoint.components.items():
            values = [c[name] for c in steps]
            assert stats.mean == pytest.approx(np.mean(values))
            assert (stats.min, stats.max) == (min(values), max(values))
            assert stats.active == pytest.approx(np.mean([v != 0 for v in values]))
        for got, want in zip([e.component_sums for e in episodes], expected_sums[-len(episodes) :], strict=True):
            assert got == pytest.approx(want)
    for env in envs:
        env.close()


# --- slow: real PPO -----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_checkpoints_record_statistics(tmp_path: Path) -> None:
    events: list[dict[str, Any]] = []
    job = TrainJob(task="cartpole-balance", reward_source=CARTPOLE_GOOD, timesteps=4000, checkpoints=4,
                   eval_episodes=3)  # fmt: skip
    result = train_candidate(job, tmp_path, events.append)
    assert result.status == "ok", result.traceback
    assert [c.timesteps for c in result.checkpoints] == sorted(c.timesteps for c in result.checkpoints)
    assert len(result.checkpoints) == 4
    assert result.checkpoints[-1].timesteps >= 4000
    assert sum(c.episodes for c in result.checkpoints) > 0
    for c in result.checkpoints:
        assert c.terminated + c.truncated == c.episodes
        assert set(c.components) == {"upright", "centre"}
        assert sum(s.share for s in c.components.values()) == pytest.approx(1.0)
    assert result.evaluation is not None and result.evaluation.episodes == 3
    assert result.evaluation.success_rate is not None and result.evaluation.success_threshold == 475.0
    assert all(r.seed >= 1_000_000 for r in result.evaluation.rollouts)  # separate seeds from training
    kinds = [e["event"] for e in events]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert kinds.count("progress") == 4 and kinds.count("checkpoint") == 4
    stored = json.loads((tmp_path / "stats.json").read_text())
    assert stored["status"] == "ok" and len(stored["checkpoints"]) == 4
    assert list((tmp_path / "tensorboard").rglob("events.out.tfevents.*"))
    for name in ("learning_curve", "components", "model"):
        assert (tmp_path / result.artifacts[name]).stat().st_size > 0


@pytest.mark.slow
def test_fitness_separates_a_good_from_a_bad_reward(tmp_path: Path) -> None:
    jobs = [
        TrainJob(candidate_id=name, task="cartpole-balance", reward_source=source, timesteps=8000, seed=1,
                 eval_episodes=5, plots=False, save_model=False)
        for name, source in (("good", CARTPOLE_GOOD), ("bad", CARTPOLE_BAD))
    ]  # fmt: skip
    good, bad = train_many(jobs, [tmp_path / j.candidate_id for j in jobs], workers=2)
    assert good.status == "ok" and bad.status == "ok", (good.error, bad.error)
    assert good.fitness is not None and bad.fitness is not None
    assert good.fitness > 2 * bad.fitness, (good.fitness, bad.fitness)


@pytest.mark.slow
def test_raising_reward_fails_with_its_line_while_the_other_finishes(tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []
    jobs = [
        TrainJob(candidate_id="raises", task="hopper-forward", reward_source=HOPPER_RAISES, timesteps=4000),
        TrainJob(candidate_id="fine", task="hopper-forward", reward_source=HOPPER_GOOD, timesteps=4000,
                 eval_episodes=2),
    ]  # fmt: skip
    scratches = [tmp_path / j.candidate_id for j in jobs]
    broken, fine = train_many(jobs, scratches, workers=2, on_event=lambda c, e: seen.append((c, e["event"])))
    assert broken.status == "failed" and broken.failure == "reward"
    assert broken.error_line == _line_of(HOPPER_RAISES, "raise ValueError")
    assert "deliberately broken" in (broken.error or "")
    assert broken.timesteps == 499  # the 500th call raised: 499 steps completed
    assert fine.status == "ok" and fine.evaluation is not None and fine.timesteps >= 4000
    assert ("fine", "finished") in seen and ("raises", "finished") in seen


@pytest.mark.slow
def test_nan_reward_fails_with_its_line(tmp_path: Path) -> None:
    job = TrainJob(task="hopper-forward", reward_source=HOPPER_NAN, timesteps=2000, plots=False)
    result = train_candidate(job, tmp_path)
    assert result.status == "failed" and result.failure == "reward"
    assert result.error_line == _line_of(HOPPER_NAN, "np.log")
    assert "lift" in (result.error or "") and result.error_step is not None


@pytest.mark.slow
def test_video_is_written_and_decodes(tmp_path: Path) -> None:
    import imageio.v2 as imageio

    job = TrainJob(task="hopper-forward", reward_source=HOPPER_GOOD, timesteps=600, eval_episodes=1,
                   video=True, video_frames=40, video_size=160, plots=False, save_model=False)  # fmt: skip
    result = train_candidate(job, tmp_path)
    assert result.status == "ok", result.traceback
    frames = imageio.mimread(tmp_path / result.artifacts["video"], memtest=False)
    assert len(frames) > 0
    assert frames[0].shape == (160, 160, 3)
    assert float(np.std(frames[0])) > 0 and not math.isnan(float(np.mean(frames[-1])))


def _lavagap_model(tmp_path: Path) -> tuple[Any, Any]:
    """A real PPO on LavaGap's training env (the env's own reward) and the recorder its envs share."""
    from autoreward.training.trainer import build_model, make_training_env

    card = resolve_task("minigrid-lavagap")
    recorder = WindowRecorder()
    venv = make_training_env(card, None, 8, 0, recorder, normalize=True)
    return build_model(venv, settings_for(card.env_id), {}, 0, None), recorder


def test_best_rollout_keeps_the_weights_that_collected_it(tmp_path: Path) -> None:
    """The snapshot holds the weights (and observation statistics) of the best-scored rollout as they were when
    it was collected, before the update that followed; too few ended episodes leave a rollout unscored."""
    import copy

    from stable_baselines3.common.callbacks import BaseCallback, CallbackList

    from autoreward.training.callbacks import BestRolloutCallback, rung_report

    model, recorder = _lavagap_model(tmp_path)
    seen: list[tuple[float, int, dict[str, Any], np.ndarray]] = []

    class Spy(BaseCallback):
        def _on_rollout_end(self) -> None:
            report = rung_report(0, self.num_timesteps, recorder.rollout)
            assert report is not None
            mean = self.model.get_env().obs_rms.mean.copy()
            seen.append((report.value, self.num_timesteps, copy.deepcopy(self.model.policy.state_dict()), mean))

        def _on_step(self) -> bool:
            return True

    best, unscored = BestRolloutCallback(recorder, 10), BestRolloutCallback(recorder, 100_000)
    model.learn(5 * 1024, callback=CallbackList([best, unscored, Spy()]))
    assert unscored.best is None and best.best is not None and len(seen) == 5
    top = max(value for value, *_ in seen)
    value, timesteps, weights, mean = [s for s in seen if s[0] == top][-1]  # a later rollout wins a tie
    assert (best.best.value, best.best.timesteps) == (value, timesteps)
    assert all(np.array_equal(best.best.weights[k], weights[k]) for k in weights)
    final = model.policy.state_dict()
    assert not all(np.array_equal(final[k], weights[k]) for k in weights)  # PPO updated after that rollout
    best.best.restore(model)
    assert all(np.array_equal(model.policy.state_dict()[k], weights[k]) for k in weights)
    assert np.array_equal(model.get_env().obs_rms.mean, mean)


def test_the_run_ends_on_the_policy_that_validates_better(tmp_path: Path) -> None:
    """Where the last update broke the policy (here: always push left), the run keeps the snapshot that validates
    better (a policy trained for a few thousand steps); where the final policy is the better one, it stays."""
    import torch

    from autoreward.training.runner import CandidateRun
    from autoreward.training.snapshot import PolicySnapshot
    from autoreward.training.trainer import build_model, evaluation_policy, make_training_env

    card = resolve_task("cartpole-balance")
    model = build_model(
        make_training_env(card, None, 8, 0, WindowRecorder(), False), settings_for(card.env_id), {}, 0, None
    )
    model.learn(6000)
    policy = evaluation_policy(model)
    trained = PolicySnapshot.take(model, 1.0, 10)
    with torch.no_grad():
        model.policy.action_net.weight.zero_()
        model.policy.action_net.bias.copy_(torch.tensor([10.0, -10.0]))
    broken = PolicySnapshot.take(model, 0.0, 10)

    def kept(final: PolicySnapshot, best: PolicySnapshot) -> bool:
        final.restore(model)
        run = CandidateRun(TrainJob(task=card.name, reward_source=None, timesteps=1), tmp_path, lambda e: None)
        run._keep_better(card, model, policy, None, best)
        ends = evaluate(card, policy, None, 3, 0).fitness_mean
        assert ends > 20, ends  # either way the run ends on the trained weights (always left: about 9 steps)
        return run.kept_timesteps is not None

    assert kept(broken, trained)
    assert not kept(trained, broken)
