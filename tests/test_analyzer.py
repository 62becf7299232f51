"""The analyzer on synthetic statistics: trends, findings, and the rendered diagnosis."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoreward.analyzer import analyze, analyze_iteration, hacking_flag, summarize
from autoreward.failure_modes import return_against_fitness
from autoreward.tasks import resolve_task
from autoreward.training.models import TrainResult
from autoreward.training.stats import Checkpoint, ComponentStats, EpisodeSummary, Evaluation


def _component(mean: float, share: float, active: float = 1.0) -> ComponentStats:
    return ComponentStats(mean=mean, min=mean - 1, max=mean + 1, share=share, active=active)


def _checkpoints(n: int = 12) -> list[Checkpoint]:
    """forward grows, alive dominates and stays put, bonus never fires; reward rises while fitness falls."""
    out = []
    for i in range(n):
        silent = ComponentStats(mean=0.0, min=0.0, max=0.0, share=0.0, active=0.0)
        out.append(
            Checkpoint(
                timesteps=(i + 1) * 1000, steps=1000, episodes=10, fitness_mean=3.0 - 0.2 * i,
                fitness_min=2.0 - 0.2 * i, fitness_max=4.0 - 0.2 * i, reward_return_mean=10.0 + i,
                length_mean=40.0, terminated=9, truncated=1,
                components={"forward": _component(0.1 + 0.1 * i, 0.2), "alive": _component(1.0, 0.8),
                            "bonus": silent},
            )
        )  # fmt: skip
    return out


def _result(**fields: object) -> TrainResult:
    rollout = EpisodeSummary(seed=7, fitness=0.5, length=40, terminated=True, builtin_return=12.0,
                             reward_return=30.0, component_sums={"forward": 2.0, "alive": 40.0},
                             fitness_trace=[(20, 0.2), (40, 0.5)])  # fmt: skip
    evaluation = Evaluation(episodes=1, fitness_mean=0.5, fitness_std=0.0, fitness_min=0.5, fitness_max=0.5,
                            success_rate=0.0, success_threshold=3.0, builtin_return_mean=12.0,
                            reward_return_mean=30.0, length_mean=40.0, terminated_rate=1.0,
                            rollouts=[rollout])  # fmt: skip
    base = {"candidate_id": "c1", "task": "hopper-forward", "status": "ok", "timesteps": 12000,
            "checkpoints": _checkpoints(), "evaluation": evaluation}  # fmt: skip
    return TrainResult.model_validate({**base, **fields})


def test_component_trends_and_reflection() -> None:
    analysis = analyze(_result(), resolve_task("hopper-forward"))
    by_name = {c.name: c for c in analysis.components}
    assert by_name["forward"].trend == "grows" and not by_name["forward"].dominates
    assert by_name["alive"].trend == "stalls" and by_name["alive"].dominates
    assert by_name["bonus"].trend == "never fires"
    assert len(by_name["forward"].reflection) == 10  # Eureka: ~10 points of training
    assert by_name["forward"].reflection[0].timesteps == 1000
    assert by_name["forward"].reflection[-1].timesteps == 12000


def test_findings_name_what_to_change() -> None:
    analysis = analyze(_result(), resolve_task("hopper-forward"))
    kinds = {(f.kind, f.component) for f in analysis.findings}
    assert ("flooding", "alive") in kinds
    assert ("never_fires", "bonus") in kinds
    assert ("fitness_falls", None) in kinds
    assert ("sign_error", "forward") in kinds  # reward rose while fitness fell, r = -1; forward grew most
    assert ("early_termination", None) in kinds  # 90% terminated at 40 of 1000 steps
    assert analysis.fitness.trend == "falls" and analysis.fitness.best_at == 1000
    assert analysis.endings.terminated_last == 0.9


def test_text_is_rendered_from_the_template() -> None:
    text = analyze(_result(), resolve_task("hopper-forward")).text
    assert "Flooding: `alive` is 80% of |reward|" in text and "multiply `alive` by about 0.1" in text
    assert "`bonus` is (almost) always zero" in text
    assert "seed 7: fitness 0.5, 40 steps, ended by termination" in text
    assert "1000: 1.1/0.1/-0.9" in text  # forward's max/mean/min at the first checkpoint


def test_failed_candidate_keeps_its_line() -> None:
    failed = _result(status="failed", failure="reward", error="ZeroDivisionError at line 7 of the reward program",
                     error_line=7, evaluation=None, checkpoints=_checkpoints(2))  # fmt: skip
    analysis = analyze(failed)
    assert analysis.findings[0].kind == "failed_reward" and analysis.findings[0].value == 7
    assert "broke during training at line 7" in analysis.text
    assert "FAILED" in analysis.text


def test_healthy_candidate_gets_no_alarm() -> None:
    checkpoints = [
        Checkpoint(timesteps=(i + 1) * 1000, steps=1000, episodes=2, fitness_mean=float(i), reward_return_mean=float(i),
                   length_mean=1000.0, terminated=0, truncated=2,
                   components={"forward": _component(0.5 + i, 0.55), "alive": _component(1.0, 0.45)})
        for i in range(6)
    ]  # fmt: skip
    analysis = analyze(_result(checkpoints=checkpoints, evaluation=None))
    kinds = {f.kind for f in analysis.findings}
    assert not kinds & {
        "flooding",
        "never_fires",
        "fitness_falls",
        "reward_not_aligned",
        "early_termination",
        "sign_error",
        "reward_hacking",
        "survival_hacking",
        "constant",
        "sparse_unreached",
    }
    assert analysis.fitness.trend == "rises"
    assert analysis.fitness.reward_fitness_correlation is not None
    assert analysis.fitness.reward_fitness_correlation > 0.99


def test_iteration_ranks_by_true_fitness_and_summary_uses_complete() -> None:
    card = resolve_task("hopper-forward")
    low, high = _result(candidate_id="low"), _result(candidate_id="high")
    assert high.evaluation is not None
    high.evaluation.fitness_mean = 2.0
    text = analyze_iteration(card, [("low", low), ("high", high), ("broken", _result(status="failed"))])
    assert text.index("1. high: 2") < text.index("2. low: 0.5") < text.index("3. broken: failed")
    prompts: list[str] = []

    def complete(prompt: str) -> str:
        prompts.append(prompt)
        return "  - scale down alive  \n"

    summary = summarize(analyze(low, card), complete)
    assert summary == "- scale down alive"
    assert card.intent in prompts[0] and "`alive` is 80% of |reward|" in prompts[0]


# ------------------------------------------------------------------------------------------ failure modes, one each


def _constant(value: float, share: float) -> ComponentStats:
    return ComponentStats(mean=value, min=value, max=value, share=share, active=1.0 if value else 0.0)


def _run(fitness: list[float], reward: list[float], components: list[dict[str, ComponentStats]],
         terminated: int = 0, length: list[float] | None = None) -> list[Checkpoint]:  # fmt: skip
    return [
        Checkpoint(timesteps=(i + 1) * 1000, steps=1000, episodes=4, fitness_mean=f, reward_return_mean=r,
                   length_mean=(length or [100.0] * len(fitness))[i], terminated=terminated,
                   truncated=4 - terminated, components=c)
        for i, (f, r, c) in enumerate(zip(fitness, reward, components, strict=True))
    ]  # fmt: skip


def _modes(checkpoints: list[Checkpoint], task: str = "hopper-forward", success: float | None = None,
           final: float = 0.5) -> dict:  # fmt: skip
    result = _result(checkpoints=checkpoints)
    assert result.evaluation is not None
    result.evaluation.success_rate = success
    result.evaluation.fitness_mean = final
    return {f.kind: f for f in analyze(result, resolve_task(task)).findings}


def test_flooding_names_the_term_and_a_scale_that_balances_it() -> None:
    parts = [{"speed": _component(0.1, 0.1), "posture": _component(5.0, 0.9)}] * 6
    found = _modes(_run([1.0] * 6, [1.0] * 6, parts))  # the fitness stalls: the dominant term is not the task
    flood = found["flooding"]
    assert flood.component == "posture" and flood.evidence["share"] == 0.9
    assert 0.03 < flood.evidence["factor"] < 0.06  # 0.9 -> about 0.3 of |reward|


def test_sign_error_when_the_reward_rises_as_the_fitness_falls() -> None:
    parts = [{"away": _component(0.1 * i, 0.5), "alive": _component(0.5, 0.5)} for i in range(6)]
    found = _modes(_run([5.0 - i for i in range(6)], [float(i) for i in range(6)], parts))
    assert found["sign_error"].component == "away"
    assert found["sign_error"].evidence["correlation"] < -0.9
    assert "reward_hacking" not in found


def test_a_sparse_task_whose_sub_goal_rewards_grow_as_the_goal_is_lost_is_hacking_not_a_sign_error() -> None:
    parts = [{"progress": _component(0.1 * i, 0.9), "time": _constant(-0.01, 0.1)} for i in range(6)]
    checkpoints = _run([0.3, 0.2, 0.1, 0.0, 0.0, 0.0], [16.0 + 3 * i for i in range(6)], parts)
    found = _modes(checkpoints, task="minigrid-doorkey-5x5", success=0.0)
    assert "sign_error" not in found and found["reward_hacking"].evidence["sparse"] == 1.0
    assert "flooding" not in found  # beside a constant cost one term drowns nothing
    text = analyze(_result(checkpoints=checkpoints), resolve_task("minigrid-doorkey-5x5")).text
    assert "pay the last step to the goal itself" in text


def test_reward_hacking_when_the_reward_rises_and_the_fitness_stalls() -> None:
    parts = [{"wiggle": _component(0.2 * i, 0.5), "forward": _component(0.3, 0.5)} for i in range(6)]
    found = _modes(_run([1.0, 1.02, 0.99, 1.01, 1.0, 1.0], [2.0 + 3 * i for i in range(6)], parts))
    hack = found["reward_hacking"]
    assert hack.component == "wiggle" and hack.evidence["reward_last"] > hack.evidence["reward_first"]
    assert "sign_error" not in found


def test_no_hacking_when_the_fitness_ends_clearly_higher() -> None:
    """DoorKey's good program in bench/halving.py: success 0.839 early, 1.0 at the end, its return rising too
    ("flat" by the trend's 25% rule): learning, not hacking. A fall or a true stall still is."""
    assert return_against_fitness(4.93, 6.89, "flat", 0.839, 1.0, None, "progress", sparse=True) is None
    stalled = return_against_fitness(4.93, 6.89, "flat", 0.95, 1.0, None, "progress", sparse=True)
    assert stalled is not None and stalled.kind == "reward_hacking"


def test_survival_hacking_when_a_constant_bonus_pays_for_lasting() -> None:
    parts = [{"alive": _constant(1.0, 0.9), "forward": _component(0.05, 0.1)}] * 6
    checkpoints = _run([0.1] * 6, [50.0 + 10 * i for i in range(6)], parts, terminated=2,
                       length=[50.0 + 10 * i for i in range(6)])  # fmt: skip
    found = _modes(checkpoints, success=0.0)
    survival = found["survival_hacking"]
    assert survival.component == "alive" and survival.evidence["length_last"] > survival.evidence["length_first"]
    assert "flooding" not in found  # the same term: one finding, the more specific one
    assert "survival_hacking" not in _modes(checkpoints, success=1.0)  # the task done: lasting was the task


def test_constant_term_where_episodes_never_end_early() -> None:
    parts = [{"offset": _constant(2.0, 0.4), "forward": _component(0.1 * i, 0.6)} for i in range(6)]
    found = _modes(_run([float(i) for i in range(6)], [float(i) for i in range(6)], parts))
    assert found["constant"].component == "offset" and found["constant"].value == 2.0
    ends_early = _run([float(i) for i in range(6)], [float(i) for i in range(6)], parts, terminated=3)
    assert "constant" not in _modes(ends_early)  # an alive bonus where failing ends episodes is not an offset


def test_sparse_goal_never_reached_names_the_sub_goal_fields_and_silent_terms() -> None:
    silent = ComponentStats(mean=0.0, min=0.0, max=0.0, share=0.0, active=0.0)
    parts = [{"door": silent, "approach": _component(0.01, 1.0)}] * 6
    found = _modes(_run([0.0] * 6, [0.5] * 6, parts), task="minigrid-doorkey-8x8", success=0.0, final=0.0)
    sparse = found["sparse_unreached"]
    assert 'carrying["key"]' in sparse.fields and "doors_open" in sparse.fields and sparse.component == "door"
    reached = _modes(_run([0.0, 0.0, 1.0, 1.0, 1.0, 1.0], [0.5] * 6, parts), task="minigrid-doorkey-8x8", final=0.0)
    assert "sparse_unreached" not in reached


def test_the_revision_leads_with_the_best_candidates_top_two_modes() -> None:
    card = resolve_task("hopper-forward")
    text = analyze_iteration(card, [("iteration 1, candidate 1", _result())])
    head = text.split("\n\n")[0]
    assert head.startswith("Fix first (iteration 1, candidate 1, the best candidate):")
    assert "1. Sign error:" in head and "2. Flooding: `alive`" in head and "Fix: flip the sign of `forward`" in head


def test_show_and_the_web_page_get_a_one_line_hacking_flag() -> None:
    parts = [{"wiggle": _component(0.2 * i, 0.5), "forward": _component(0.3, 0.5)} for i in range(6)]
    hacked = _result(checkpoints=_run([1.0, 1.02, 0.99, 1.01, 1.0, 1.0], [2.0 + 3 * i for i in range(6)], parts))
    flag = hacking_flag(hacked.model_dump(mode="json"))
    assert flag == "reward hacking: own return 3.5 -> 15.5 while true fitness 1.01 -> 1"
    healthy = _run([float(i) for i in range(6)], [float(i) for i in range(6)], parts)
    assert hacking_flag(_result(checkpoints=healthy).model_dump(mode="json")) is None
    assert hacking_flag(None) is None
    falling = _run([0.3, 0.2, 0.1, 0.0, 0.0, 0.0], [16.0 + 3 * i for i in range(6)], parts)
    assert hacking_flag(_result(checkpoints=falling).model_dump(mode="json")).startswith("sign error")  # hopper
    sparse = _result(checkpoints=falling, task="minigrid-doorkey-5x5").model_dump(mode="json")
    assert hacking_flag(sparse).startswith("reward hacking")  # as the Analyzer words it for a sparse task
    assert hacking_flag({"status": "ok", "checkpoints": [{"timesteps": 10}]}) is None  # unreadable: no flag


def test_the_loops_analyzer_renders_the_users_templates(tmp_path: Path) -> None:
    """``--prompts DIR`` reaches the analysis templates too (parts once dropped it for the iteration report)."""
    from autoreward.parts import default_parts
    from autoreward.runconfig import RunConfig

    card = resolve_task("hopper-forward")
    (tmp_path / "analysis_iteration.j2").write_text("MINE: {{ analyses | length }} analysed\n", encoding="utf-8")
    parts = default_parts(RunConfig(task=card.name), card)
    results = [("c1", _result())]
    assert parts.analyze(card, results, tmp_path) == "MINE: 1 analysed\n"
    assert "MINE" not in parts.analyze(card, results, None)


# ------------------------------------------------------------------ where the fitness agrees, each mode is silent


def _cartpole_alive(fitness: list[float], length: list[float]) -> list[Checkpoint]:
    """A constant alive bonus that is 90% of the reward, where failing ends episodes (issue 39's case)."""
    parts = [{"alive": _constant(1.0, 0.9), "upright": _component(0.05, 0.1)}] * len(fitness)
    return _run(fitness, [10.0 * x for x in length], parts, terminated=2, length=length)


def _silent_cases() -> dict[str, tuple[list[Checkpoint], str]]:
    rising = [float(i) for i in range(1, 7)]
    lengths = [50.0, 60.0, 55.0, 65.0, 52.0, 58.0]
    return {
        # episode length is the fitness: lasting is the task, rising or not
        "survival_hacking": (_cartpole_alive([10.0 * x for x in rising], [10.0 * x for x in rising]),
                             "cartpole-balance"),
        "survival_hacking, fitness follows length": (_cartpole_alive(lengths, lengths), "cartpole-balance"),
        "flooding": (_run(rising, rising, [{"speed": _component(0.1, 0.1), "posture": _component(5.0, 0.9)}] * 6),
                     "hopper-forward"),
        "sign_error": (_run(rising, rising, [{"away": _component(0.1 * i, 0.5), "alive": _component(0.5, 0.5)}
                                             for i in range(6)]), "hopper-forward"),
        "reward_hacking": (_run([1.0, 1.0, 1.1, 1.2, 1.3, 1.3], [2.0 + 3 * i for i in range(6)],
                                [{"wiggle": _component(0.2 * i, 0.5), "forward": _component(0.3, 0.5)}
                                 for i in range(6)]), "hopper-forward"),
        "constant": (_run(rising, rising, [{"offset": _constant(2.0, 0.4), "forward": _component(0.1 * i, 0.6)}
                                           for i in range(6)], terminated=3), "hopper-forward"),
        "sparse_unreached": (_run([0.0, 0.0, 1.0, 1.0, 1.0, 1.0], [0.5] * 6,
                                  [{"door": _constant(0.0, 0.0), "approach": _component(0.01, 1.0)}] * 6),
                             "minigrid-doorkey-8x8"),
    }  # fmt: skip


@pytest.mark.parametrize("mode", sorted(_silent_cases()))
def test_a_failure_mode_stays_silent_where_the_fitness_agrees(mode: str) -> None:
    checkpoints, task = _silent_cases()[mode]
    found = _modes(checkpoints, task=task, success=0.0, final=0.0 if task.startswith("minigrid") else 0.5)
    kind = mode.split(",")[0]
    assert kind not in found, found[kind]


def test_cartpole_s_alive_term_is_not_called_a_hack() -> None:
    """Issue 39: on a task whose fitness is episode length, the revision never says to shrink `alive`."""
    rising = [10.0 * i for i in range(1, 7)]
    result = _result(task="cartpole-balance", checkpoints=_cartpole_alive(rising, rising))
    text = analyze_iteration(resolve_task("cartpole-balance"), [("iteration 1, candidate 1", result)])
    assert "Survival hacking" not in text and "Flooding" not in text and "multiply `alive`" not in text


def test_a_ranking_leads_the_advice_with_the_candidate_ranked_first() -> None:
    """Issue 39: in a preference run, "Fix first" is the person's first choice, never one they placed below."""
    card = resolve_task("hopper-forward")
    low, high = _result(candidate_id="low"), _result(candidate_id="high")
    assert high.evaluation is not None
    high.evaluation.fitness_mean = 2.0
    text = analyze_iteration(card, [("low", low), ("high", high)], ranked_by="a person")
    assert text.startswith("Fix first (low, ranked first by a person):")
    assert "Candidates as a person ranked them (best first):" in text
    assert text.index("1. low: 0.5") < text.index("2. high: 2")
    assert analyze_iteration(card, [("low", low), ("high", high)]).startswith("Fix first (high, the best candidate)")
