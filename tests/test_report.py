"""`autoreward report` and the run page's evaluation table, over a store holding a run and its evaluation."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from autoreward.cli import app
from autoreward.evaluation import EvaluationSpec, Method
from autoreward.store import RunStore

RUN = "cart-run"
runner = CliRunner()

# Final fitness per seed: the run's program beats builtin on every seed, the reference sits between.
SCORES = {"it00-c01": [300.0, 420.0, 390.0], "builtin": [100.0, 140.0, 120.0], "reference": [200.0, 260.0, 230.0]}


def _result(fitness: float) -> dict:
    checkpoints = [{"timesteps": t, "steps": 500, "episodes": 3, "fitness_mean": fitness * t / 2000}
                   for t in (500, 1000, 1500, 2000)]  # fmt: skip
    return {"candidate_id": "x", "task": "cartpole-balance", "status": "ok", "checkpoints": checkpoints,
            "evaluation": {"fitness_mean": fitness}}  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    store = RunStore(tmp_path / "runs")
    card = {"name": "cartpole-balance", "env_id": "CartPole-v1", "intent": "Balance.", "fitness": "episode_length"}
    config = {"iterations": 2, "timesteps": 2000, "llm": {"model": "openai/test-model", "samples": 2}}
    store.create_run(RUN, "cartpole-balance", card, config, {"seed": 0})
    store.add_llm_call(RUN, 0, "design", {"tokens_in": 900, "tokens_out": 300, "cost_usd": 0.002})
    methods = [
        Method(name=f"{RUN}/it00-c01", source="", origin=f"{RUN}/it00-c01"),
        Method(name="builtin", source=None, origin="the env's own reward", baseline=True),
        Method(name="reference", source="", origin=str(tmp_path / "hand.py"), baseline=True),
    ]
    spec = EvaluationSpec(task="cartpole-balance", methods=methods, seeds=[500_000, 500_001, 500_002],
                          timesteps=2000, episodes=3)  # fmt: skip
    store.create_evaluation("eval-cart", "cartpole-balance", spec.model_dump(mode="json"), {"provenance": {}})
    for method in methods:
        for seed, fitness in zip(spec.seeds, SCORES[method.name.rpartition("/")[2]], strict=True):
            store.add_seed_result("eval-cart", method.name, seed, "ok", fitness, _result(fitness))
    return store


def test_report_renders_the_table_the_png_and_the_run(store: RunStore, tmp_path: Path) -> None:
    output = tmp_path / "out" / "report.md"
    result = runner.invoke(app, ["report", RUN, "-o", str(output), "--runs-dir", str(store.root)])
    assert result.exit_code == 0, result.output
    text = output.read_text()
    assert (
        "| task | method | seeds | timesteps | mean [95% CI] | IQM [95% CI] | P(> builtin) | P(> reference) |" in text
    )
    row = next(line for line in text.splitlines() if line.startswith(f"| cartpole-balance | `{RUN}/it00-c01`"))
    # Three seeds: the IQM trims nothing whole, so it equals the mean 370; it beats both baselines on every pair.
    assert "| 370 [" in row and "| 1 [1, 1] | 1 [1, 1] |" in row
    # normalised on IQMs: (370 - 120) / |230 - 120| = 2.27, its bounds (300 | 420 - 120) / 110 = 1.64 | 2.73
    assert row.endswith("| 2.3 [1.6, 2.7] |"), row
    assert f"| {RUN} | cartpole-balance | `openai/test-model` | 2 x 2 | 2000 |" in text
    png = output.with_suffix(".png")
    assert png.stat().st_size > 5_000 and "](report.png)" in text
    assert "**Small sample:** only 3 training seed(s): fewer than 5" in text  # rliable's advice, said where it applies


def test_report_of_an_unknown_id_is_one_line(store: RunStore, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "nope", "-o", str(tmp_path / "r.md"), "--runs-dir", str(store.root)])
    assert result.exit_code == 2 and "no run 'nope'" in result.stderr
    assert not (tmp_path / "r.md").exists()


def test_run_page_shows_the_same_table(store: RunStore) -> None:
    from autoreward.web import create_app

    with TestClient(create_app(store.root)) as client:
        page = client.get(f"/runs/{RUN}")
    assert page.status_code == 200
    assert "Evaluation on fresh seeds" in page.text and "eval-cart" in page.text
    assert "IQM [95% CI]" in page.text and "370 [" in page.text
