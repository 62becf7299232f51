"""The command line through typer's runner, and once through the installed console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autoreward.cli import app

REQUIRED = [
    "hopper-forward", "halfcheetah-forward", "walker-forward", "ant-forward", "cartpole-balance",
    "pendulum-swingup", "mountaincar-reach", "reacher-reach", "pusher-push",
]  # fmt: skip
runner = CliRunner()


def test_tasks_lists_the_catalog() -> None:
    result = runner.invoke(app, ["tasks"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for name in REQUIRED:
        assert name in result.output


def test_tasks_json_is_machine_readable() -> None:
    result = runner.invoke(app, ["tasks", "--json"])
    cards = json.loads(result.stdout)
    names = [c["name"] for c in cards]
    assert len(cards) >= 14 and set(REQUIRED) <= set(names)
    assert all(c["fitness"] for c in cards), "every catalog task has a true fitness"
    families = {c["family"] for c in cards}
    assert {"locomotion", "manipulation", "classic"} <= families


def test_describe_prints_the_description_and_its_size() -> None:
    result = runner.invoke(app, ["describe", "hopper-forward", "--steps", "50"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Task: hopper-forward (gymnasium env Hopper-v5)")
    assert "joint_angle[name]" in result.stdout
    assert "tokens" in result.stderr


def test_describe_json_and_metrics() -> None:
    data = json.loads(runner.invoke(app, ["describe", "cartpole-balance", "--json", "--steps", "20"]).stdout)
    assert data["tokens"] > 0 and data["text"].startswith("Task: cartpole-balance")
    result = runner.invoke(app, ["describe", "--metrics"], terminal_width=200)
    assert "forward_distance" in result.stdout and "success_rate" in result.stdout


@pytest.mark.parametrize(
    ("card", "message"),
    [
        ('name="x"\nenv_id="Hopper-v5"\nintent="a"\nfitnes="forward_distance"\n', "unknown field 'fitnes': rename it to 'fitness'"),
        ('name="x"\nenv_id="Hopper-v5"\nfitness="forward_distance"\n', "missing field 'intent'"),
        ('name="x"\nenv_id="Hopper-v5"\nintent="a"\nfitness="forward_distanc"\n', "did you mean 'forward_distance'"),
        ('name="Bad Name"\nenv_id="Hopper-v5"\nintent="a"\n', "field 'name'"),
        ('name="x"\nenv_id="Hopper-v5"\nintent="a"\nfitness={expr="state.x_positon", reduce="delta"}\n', "did you mean 'x_position'"),
        ('name="x"\nenv_id="Hopper-v5"\nintent="a"\nfitness={expr="1 +", reduce="sum"}\n', "does not parse"),
        ('name="x"\nenv_id="Hopper-v5"\nintent="a"\ntimesteps=-5\n', "field 'timesteps'"),
        ('name="x"\nenv_id="Hopper-v5"\nintent="a"\nenv_kwargs={nope=1}\n', "field 'env_kwargs'"),
        ('name="x"\nenv_id="Meta-World/reach-v3"\nintent="a"\n', "autoreward[metaworld]"),
        ('name="x"\nenv_id="NoSuchEnv-v0"\nintent="a"\n', "unknown env id 'NoSuchEnv-v0'"),
        ('name="x"\nenv_id="Hopper-v5"\nintent="a"\nmodule="missing_mod.py"\n', "field 'module'"),
        ('name = "x\n', "not valid TOML"),
        ('name="x"\nenv_id="Hopper-v5"\nintent="a"\n[[subgoals]]\nprogress="distance[key]"\n', "field 'subgoals.0.progress': 'distance[key]' is not a State field"),
        ('name="x"\nenv_id="Hopper-v5"\nintent="a"\n[[subgoals]]\nnote="x"\n', "a sub-goal needs ends_when, progress or both; give one table per stage"),
        ('name="x"\nenv_id="Hopper-v5"\nintent="a"\n[[subgoals]]\nends_wen="doors_open"\n', "unknown field 'subgoals.0.ends_wen': rename it to 'ends_when'"),
    ],
)  # fmt: skip
def test_bad_cards_give_one_line_naming_file_field_and_fix(tmp_path: Path, card: str, message: str) -> None:
    path = tmp_path / "card.toml"
    path.write_text(card)
    result = runner.invoke(app, ["describe", str(path), "--steps", "5"])
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.output


def test_unknown_task_suggests_close_names() -> None:
    result = runner.invoke(app, ["describe", "hoper-forward"])
    assert result.exit_code == 2
    assert "did you mean hopper-forward" in result.stderr


@pytest.mark.slow
def test_installed_console_script_runs_from_any_directory(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "autoreward"
    assert script.exists(), "the console script is installed with the package"
    done = subprocess.run([str(script), "tasks", "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert set(REQUIRED) <= {c["name"] for c in json.loads(done.stdout)}
    bad = subprocess.run([str(script), "describe", "nope"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("error: unknown task 'nope'")
    assert "Traceback" not in bad.stderr


def test_show_says_when_a_candidate_ends_on_an_earlier_policy(tmp_path: Path) -> None:
    """Training may end on the weights of its best rollout (training/snapshot.py): ``show`` says which step's."""
    from autoreward.store import RunStore

    store = RunStore(tmp_path)
    store.create_run("kept", "cartpole-balance", {}, {}, {})
    program = "def compute_reward(prev, action, state):\n    return 1.0, {'alive': 1.0}\n"
    ids = [store.add_candidate("kept", 0, i, program, llm_call_id=None) for i in range(2)]
    for cid, kept in zip(ids, (98304, None), strict=True):
        result = {"candidate_id": cid, "task": "cartpole-balance", "status": "ok", "kept_timesteps": kept}
        store.set_result(cid, result, 1.0, "trained")
    shown = CliRunner().invoke(app, ["show", "kept", "--runs-dir", str(tmp_path)], terminal_width=200).stdout
    assert shown.count("policy of step") == 1 and "trained, policy of step 98304" in shown
