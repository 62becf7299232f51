"""Bad input and dead ends: each gets one clear line, a non-zero exit, and leaves nothing behind.

Every case here is a newcomer's walk that once ended in a traceback, a stored run that could never work, a file
outside the run store, or advice that failed in turn."""

from __future__ import annotations

from pathlib import Path

import pytest
from llm_server import RecordedRequest, Reply, ScriptedLLMServer, answer
from typer.testing import CliRunner

from autoreward.cli import app
from autoreward.config import LLMSettings
from autoreward.runconfig import RunConfig
from autoreward.store import RunStore

runner = CliRunner()


def invoke(args: list[str]):
    return runner.invoke(app, args, terminal_width=400)


def one_error(result, *needles: str) -> str:
    """The one error line of a failed command (exit 2, no traceback), checked to contain ``needles``."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    line = result.stderr.strip()
    assert line.startswith("error: ") and "\n" not in line, line
    for needle in needles:
        assert needle in line, line
    return line


def stored_run(root: Path, run_id: str, *, status: str, model: str = "openai/test-model", preference: str = "none"):
    store = RunStore(root)
    config = RunConfig(task="cartpole-balance", preference=preference, llm=LLMSettings(model=model))
    store.create_run(run_id, "cartpole-balance", {"env_id": "CartPole-v1"}, config.model_dump(mode="json"), {})
    store.set_run(run_id, status=status)
    store.close()


def test_a_typo_in_the_task_is_said_first_and_stores_nothing(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    line = one_error(invoke(["run", "cartpole-balanse", "--runs-dir", str(runs)]), "did you mean cartpole-balance")
    assert "llama" not in line
    assert not runs.exists()


def test_an_unknown_model_is_refused_before_a_run_is_stored(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    result = invoke(["run", "cartpole-balance", "--model", "gpt-nonexistent", "--runs-dir", str(runs)])
    one_error(result, "unknown model 'gpt-nonexistent'", "provider/model")
    assert RunStore(runs).runs() == []


def test_resume_takes_another_model_and_checks_it_first(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    stored_run(runs, "stuck", status="stopped", model="gpt-nonexistent")
    one_error(invoke(["resume", "stuck", "--model", "gpt-still-wrong", "--runs-dir", str(runs)]), "gpt-still-wrong")
    assert RunStore(runs).run("stuck").config["llm"]["model"] == "gpt-nonexistent"  # nothing was switched


def _rejecting(request: RecordedRequest) -> Reply:
    return answer("```python\ndef compute_reward(prev, action, state):\n    return state.no_such_field, {}\n```")


@pytest.mark.slow
def test_a_run_whose_every_program_is_rejected_exits_non_zero_and_says_what_to_change(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with ScriptedLLMServer(_rejecting) as server:
        args = ["run", "cartpole-balance", "--model", "openai/test-model", "--api-base", server.base_url,
                "--iterations", "1", "--samples", "2", "--resample", "0", "--no-llm-review", "--no-video",
                "--run-id", "rejected", "--runs-dir", str(runs), "--quiet"]  # fmt: skip
        result = invoke(args)
    assert result.exit_code == 1, result.output
    assert "no trained candidate" in result.stderr and "--from" in result.stderr
    line = one_error(invoke(["export", "rejected", "--runs-dir", str(runs)]), "no trained candidate")
    assert "resume" not in line  # the run is finished: resuming it cannot help


@pytest.mark.parametrize("run_id", ["../escape", "a/b", "..", ".hidden", "x" * 200])
def test_run_ids_are_plain_names(tmp_path: Path, run_id: str) -> None:
    runs = tmp_path / "runs"
    one_error(invoke(["run", "cartpole-balance", "--run-id", run_id, "--runs-dir", str(runs)]), "not a plain name")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_runs_dir_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "afile"
    path.write_text("mine")
    for args in (["runs"], ["show", "x"], ["export", "x"], ["prefer", "x"], ["resume", "x"]):
        one_error(invoke([*args, "--runs-dir", str(path)]), "is a file, not a directory")
    assert path.read_text() == "mine"


def test_reading_commands_never_create_a_store(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    assert invoke(["runs", "--runs-dir", str(missing)]).exit_code == 0
    for args in (["show", "x"], ["export", "x"], ["prefer", "x"], ["resume", "x"]):
        one_error(invoke([*args, "--runs-dir", str(missing)]), "no run 'x'")
    assert not missing.exists()


def test_prefer_says_when_a_ranking_cannot_steer_the_run(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    stored_run(runs, "plain", status="running")
    stored_run(runs, "done", status="finished", preference="human")
    one_error(invoke(["prefer", "plain", "--ranking", "1", "--runs-dir", str(runs)]), "without --preference human")
    one_error(invoke(["prefer", "done", "--ranking", "1", "--runs-dir", str(runs)]), "is finished")
    assert RunStore(runs).preference("done", 0) is None


def test_a_fitness_over_a_missing_field_names_the_fields_and_describe_still_works(tmp_path: Path) -> None:
    card = tmp_path / "mine.toml"
    card.write_text('name = "mine"\nenv_id = "CartPole-v1"\nintent = "Balance."\n'
                    'fitness = { expr = "state.pole_angel", reduce = "sum" }\n')  # fmt: skip
    described = invoke(["describe", str(card), "--steps", "20"])  # the fields it can read, then the error
    one_error(described, "no field 'pole_angel'")
    assert "pole_angle" in described.stdout
    runs = tmp_path / "runs"
    one_error(invoke(["run", str(card), "--runs-dir", str(runs)]), "did you mean 'pole_angle'", "cart_position")
    assert not runs.exists()


def test_small_texts_read_as_people_write_them(tmp_path: Path) -> None:
    from autoreward.critic.verdict import Reason, Verdict
    from autoreward.runs import run_notes
    from autoreward.sanitize import plural
    from autoreward.types import Status

    assert (plural(1, "warning"), plural(2, "error"), plural(0, "error")) == ("1 warning", "2 errors", "0 errors")
    store = RunStore(tmp_path)
    store.create_run("r", "cartpole-balance", {"env_id": "CartPole-v1"}, {}, {})
    a, b, c = (store.add_candidate("r", 0, i, f"# {i}", llm_call_id=None) for i in range(3))
    assert store.candidate(a).verdict_line() == "not checked yet"  # never an empty cell after 'designed'
    same = Reason(stage="duplicate", severity="error", message="the same program as it00-c00; write a different one")
    store.set_verdict(c, Verdict(accepted=False, reasons=[same]).model_dump(mode="json"), False)
    store.set_result(c, {}, None, Status.DUPLICATE)
    assert store.candidate(c).verdict_line() == "the same program as it00-c00; write a different one"
    warned = Reason(stage="static", severity="warning", message="an unused import")
    store.set_verdict(a, Verdict(accepted=True, reasons=[warned]).model_dump(mode="json"), True)
    assert store.candidate(a).verdict_line() == "ok (1 warning)"

    assert run_notes(store, "r") is None
    store.set_result(a, {}, 1.0, Status.TRAINED)
    store.set_result(b, {}, 1.0, Status.TRAINED)
    assert run_notes(store, "r") == "2 candidates tie for the best fitness 1 (it00-c00, it00-c01); it00-c00 is exported"


GOOD = "import numpy as np\n\n\ndef compute_reward(prev, action, state):\n    components = {'upright': 1.0 - abs(state.pole_angle)}\n    return float(sum(components.values())), components\n"


def test_the_cli_follows_click_conventions(tmp_path: Path) -> None:
    import autoreward

    assert invoke(["--version"]).stdout.strip() == f"autoreward {autoreward.__version__}"
    assert invoke(["run", "-h"]).exit_code == 0
    help_text = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "300", "TERMINAL_WIDTH": "300"}).stdout
    assert "(env: AUTOREWARD_MODEL)" in help_text and "none|synthetic|human" in help_text
    bad = invoke(["run", "cartpole-balance", "--backend", "cloud", "--runs-dir", str(tmp_path / "r")])
    assert bad.exit_code == 2 and "cloud" in bad.output and not (tmp_path / "r").exists()


def test_check_export_and_show_speak_json_and_show_one_candidate(tmp_path: Path) -> None:
    import json

    from autoreward.tasks import resolve_task
    from autoreward.types import Status

    program = tmp_path / "mine.py"
    program.write_text(GOOD)
    checked = invoke(["check", str(program), "--task", "cartpole-balance", "--no-llm-review", "--json"])
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["accepted"] is True

    runs = tmp_path / "runs"
    store = RunStore(runs)
    store.create_run("r", "cartpole-balance", resolve_task("cartpole-balance").model_dump(mode="json"), {}, {})
    cid = store.add_candidate("r", 0, 0, GOOD, llm_call_id=None)
    store.set_result(cid, {}, 500.0, Status.TRAINED)
    exported = json.loads(invoke(["export", "r", "--json", "--runs-dir", str(runs)]).stdout)
    assert Path(exported["exported"]).is_file() and exported["run"] == "r"
    shown = invoke(["show", cid, "--runs-dir", str(runs)])
    assert shown.exit_code == 0 and "fitness 500" in shown.stdout and "upright" in shown.stdout
    one_error(invoke(["show", "r/it09-c09", "--runs-dir", str(runs)]), "no candidate 'r/it09-c09'")


def test_the_python_api_says_what_is_wrong_in_one_error(tmp_path: Path) -> None:
    import autoreward
    from autoreward.errors import AutorewardError

    with pytest.raises(AutorewardError, match="did you mean 'iterations'"):
        autoreward.run("cartpole-balance", iteratons=2)
    with pytest.raises(AutorewardError, match="option iterations=0"):
        autoreward.api.start_run("cartpole-balance", model="openai/x", iterations=0, runs_dir=tmp_path / "r")
    with pytest.raises(AutorewardError, match=r"no reward file compute_reward\.py"):
        autoreward.check("compute_reward.py", "cartpole-balance")
    verdict = autoreward.check(GOOD, "cartpole-balance")
    assert repr(verdict).startswith("Verdict(accepted=True, errors=0")
