"""The analyzer on synthetic statistics: trends, findings, and the rendered diagnosis."""

from __future__ import annotations

from pathlib import Path

from autoreward.analyzer import analyze, analyze_iteration, summarize
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
    assert ("dominates", "alive") in kinds
    assert ("never_fires", "bonus") in kinds
    assert ("fitness_falls", None) in kinds
    assert ("reward_not_aligned", None) in kinds  # reward rose while fitness fell
    assert ("early_termination", None) in kinds  # 90% terminated at 40 of 1000 steps
    assert analysis.fitness.trend == "falls" and analysis.fitness.best_at == 1000
    assert analysis.endings.terminated_last == 0.9


def test_text_is_rendered_from_the_template() -> None:
    text = analyze(_result(), resolve_task("hopper-forward")).text
    assert "`alive` is 80% of the reward" in text
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
    assert not kinds & {"dominates", "never_fires", "fitness_falls", "reward_not_aligned", "early_termination"}
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
    assert card.intent in prompts[0] and "`alive` is 80% of the reward" in prompts[0]


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
