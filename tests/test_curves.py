"""``evaluate``'s sample-efficiency curves plot only program-free measurements: the rungs the parent assessed from
saved weights and the final evaluation, never the checkpoint fitness the program's own process reported."""

from __future__ import annotations

from autoreward.evaluation import CURVE_POINTS, EvaluationSpec, Method, _job, curve_steps, curves
from autoreward.store import SeedRow
from autoreward.training.models import RungReport

FORGED = 1e6


def _row(method: str, seed: int, rungs: list[tuple[int, float]], final: float | None = 3.0) -> SeedRow:
    result = {
        "timesteps": 1000,
        "checkpoints": [{"timesteps": t, "fitness_mean": FORGED} for t in (250, 500, 750, 1000)],
        "rungs": [RungReport(rung=i, timesteps=t, fitness=f, value=f).model_dump() for i, (t, f) in enumerate(rungs)],
        "evaluation": None if final is None else {"fitness_mean": final},
    }
    return SeedRow(evaluation_id="e", method=method, seed=seed, created=0.0, status="ok", fitness=final, result=result)


def test_curves_read_the_parents_rungs_and_the_final_evaluation_never_the_checkpoints() -> None:
    spec = EvaluationSpec(task="cartpole-balance", methods=[Method(name="a"), Method(name="old")], seeds=[0, 1])
    rows = [
        _row("a", 0, [(200, 1.0), (400, 2.0)]),
        _row("a", 1, [(200, 1.5), (400, 2.5)], final=4.0),
        _row("old", 0, []),  # stored before the curves were program-free: its checkpoints are not plotted
    ]
    data = curves(spec, rows)
    assert set(data) == {"a"}
    steps, series = data["a"]
    assert steps == [200.0, 400.0, 1000.0]
    assert series == [[1.0, 2.0, 3.0], [1.5, 2.5, 4.0]]
    assert FORGED not in [v for s in series for v in s]


def test_only_points_every_seed_has_are_plotted() -> None:
    spec = EvaluationSpec(task="cartpole-balance", methods=[Method(name="a")], seeds=[0, 1])
    rows = [_row("a", 0, [(200, 1.0), (400, 2.0)]), _row("a", 1, [(400, 2.5)], final=None)]
    assert curves(spec, rows) == {"a": ([400.0], [[2.0], [2.5]])}


def test_an_evaluation_job_saves_its_policy_at_the_curve_points() -> None:
    spec = EvaluationSpec(task="cartpole-balance", methods=[Method(name="a")], seeds=[0], timesteps=5000, episodes=8)
    job = _job("e", spec, spec.methods[0], 0)
    assert job.rungs == curve_steps(5000) == [1000, 2000, 3000, 4000] and len(job.rungs) == CURVE_POINTS
    assert job.rung_episodes == 5 and job.rung_wait_s == 0  # nothing is cut: training never waits
