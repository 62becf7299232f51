"""Starting a run from the user's own reward: ``--from FILE`` and a card's ``from``.

The fast tests drive the real CLI (typer's runner) against the scripted LLM server and prove that a program the
Critic rejects, or a file that is not there, stops the run before it exists and before any LLM request. The
slow test runs the loop on cartpole from a user's file and checks what the user would: the file is trained,
`show` marks it, the revision prompt shows it as the program to improve, and the export names it.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from llm_server import ScriptedLLMServer, answer
from typer.testing import CliRunner

from autoreward.cli import app
from autoreward.errors import AutorewardError
from autoreward.runs import builtin_note, descent, export_best
from autoreward.start import StartProgram, add_start_candidates, start_programs
from autoreward.store import BUILTIN, RunStore
from autoreward.tasks import load_card, resolve_task

runner = CliRunner()

MINE = """import numpy as np


def compute_reward(prev, action, state):
    components = {"alive": 0.1, "upright": 0.5 - abs(state.pole_angle)}
    return float(sum(components.values())), components
"""
BAD = """import os


def compute_reward(prev, action, state):
    components = {"speed": state.cart_speed}
    return float(sum(components.values())), components
"""
LLM_PROGRAM = (
    "```python\nimport numpy as np\n\n\ndef compute_reward(prev, action, state):\n"
    "    components = {'upright': 1.0 - 4.0 * abs(state.pole_angle)}\n"
    "    return float(sum(components.values())), components\n```"
)


def _catalog_card_text() -> str:
    path = resolve_task("cartpole-balance").source
    assert path is not None
    return path.read_text()


def _run_args(server: ScriptedLLMServer, runs: Path, *extra: str, task: str = "cartpole-balance") -> list[str]:
    return ["run", task, "--model", "openai/test-model", "--api-base", server.base_url,
            "--runs-dir", str(runs), "--quiet", "--no-llm-review", *extra]  # fmt: skip


def test_a_rejected_from_file_stops_with_its_reasons_before_any_llm_request(
    tmp_path: Path, llm_server: ScriptedLLMServer, llm_key: str
) -> None:
    llm_server.set_script(lambda request: answer(LLM_PROGRAM))
    bad = tmp_path / "bad.py"
    bad.write_text(BAD)
    runs = tmp_path / "runs"
    result = runner.invoke(app, _run_args(llm_server, runs, "--from", str(bad)))
    assert result.exit_code == 2, result.output
    reasons = [line for line in result.stderr.splitlines() if line.startswith(str(bad.resolve()))]
    assert len(reasons) == 2, result.stderr
    assert "import of 'os'" in reasons[0] and "'cart_speed'" in reasons[1]
    assert "Traceback" not in result.output
    assert llm_server.requests == []
    assert RunStore(runs).runs() == [], "a rejected start leaves no half-made run behind"


def test_a_missing_from_file_is_one_line(tmp_path: Path, llm_server: ScriptedLLMServer, llm_key: str) -> None:
    result = runner.invoke(app, _run_args(llm_server, tmp_path / "runs", "--from", str(tmp_path / "nope.py")))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "nope.py: no such file" in result.stderr, result.stderr
    assert llm_server.requests == []


def test_a_card_lists_programs_relative_to_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "rewards").mkdir()
    (tmp_path / "rewards" / "mine.py").write_text(MINE)
    card_path = tmp_path / "card.toml"
    card_path.write_text(_catalog_card_text() + '\nfrom = ["rewards/mine.py", "builtin"]\n')
    monkeypatch.chdir(tmp_path / "rewards")  # the card's paths do not depend on the current directory

    card = load_card(card_path)
    programs = start_programs(card, ["mine.py"])  # --from: relative to the current directory; named twice
    assert [p.origin for p in programs] == [str((tmp_path / "rewards" / "mine.py").resolve()), BUILTIN]
    assert programs[0].source == MINE and programs[1].source is None and programs[1].builtin

    card_path.write_text(_catalog_card_text() + '\nfrom = ["missing.py"]\n')
    with pytest.raises(AutorewardError, match=r"card\.toml: field 'from': no file missing\.py next to the card; "):
        load_card(card_path)
    card_path.write_text(_catalog_card_text() + '\nfrom = "mine.py"\n')
    with pytest.raises(AutorewardError, match=r"field 'from': Input should be a valid list; list reward programs"):
        load_card(card_path)


def test_start_candidates_keep_their_origin_and_are_stored_once(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.create_run("r", "cartpole-balance", {}, {}, {})
    programs = [StartProgram(origin="/x/mine.py", source=MINE), StartProgram(origin=BUILTIN)]
    add_start_candidates(store, "r", programs)
    add_start_candidates(store, "r", programs)  # a resumed run adds nothing twice
    rows = store.candidates("r")
    assert [(r.idx, r.origin, r.status, r.builtin) for r in rows] == [
        (0, "/x/mine.py", "designed", False),  # judged by the loop's Critic: no verdict was given
        (1, BUILTIN, "accepted", True),  # the env's own reward has no program to judge
    ]
    assert store.source(rows[0].id) == MINE and store.source(rows[1].id) is None

    # a candidate revising the user's file descends from it; one the LLM wrote beside it does not
    child = store.add_candidate("r", 1, 0, MINE, llm_call_id=None, parent_id=rows[0].id)
    other = store.add_candidate("r", 0, 2, MINE, llm_call_id=None)
    assert descent(store, child) == "It descends from /x/mine.py: it00-c00 -> it01-c00 (each revised the one before)."
    assert "written by the LLM beside it" in descent(store, other)


def test_a_store_from_before_origins_gains_the_column(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "runs.sqlite")
    db.execute(
        "CREATE TABLE candidates (id TEXT PRIMARY KEY, run_id TEXT NOT NULL, iteration INTEGER NOT NULL, "
        "idx INTEGER NOT NULL, status TEXT NOT NULL, llm_call_id INTEGER, parent_id TEXT, created REAL NOT NULL, "
        "verdict TEXT, result TEXT, fitness REAL)"
    )
    db.execute("INSERT INTO candidates VALUES ('old/it00-c00', 'old', 0, 0, 'trained', 1, NULL, 0, NULL, NULL, 2.0)")
    db.commit()
    db.close()
    row = RunStore(tmp_path).candidates("old")[0]
    assert (row.fitness, row.origin, row.builtin) == (2.0, None, False)


def test_the_builtin_reward_is_never_the_result_and_is_named_when_it_wins(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.create_run("r", "cartpole-balance", {"env_id": "CartPole-v1"}, {}, {})
    add_start_candidates(store, "r", [StartProgram(origin=BUILTIN)])
    generated = store.add_candidate("r", 0, 1, MINE, llm_call_id=None)
    store.set_result("r/it00-c00", {}, 300.0, "trained")
    assert builtin_note(store, "r") == "the env's own reward reached fitness 300; no generated reward was trained"
    store.set_result(generated, {}, 120.0, "trained")
    assert builtin_note(store, "r") == (
        "the env's own reward reached fitness 300, more than the best generated reward (120, it00-c01), "
        "which is what is exported"
    )
    assert export_best(store, "r", tmp_path / "out.py").read_text().count("0.5 - abs(state.pole_angle)") == 1
    store.set_result(generated, {}, 301.0, "trained")
    assert builtin_note(store, "r") is None


@pytest.mark.slow
def test_a_run_from_the_cards_file_and_the_builtin_reward(
    tmp_path: Path, llm_server: ScriptedLLMServer, llm_key: str
) -> None:
    """The card's ``from`` and ``--from builtin`` in one run: the file is trained, shown, revised and named by
    the export; the env's own reward trains without a program, is marked, and is never exported."""
    llm_server.set_script(lambda request: answer(LLM_PROGRAM))
    mine = tmp_path / "mine.py"
    mine.write_text(MINE)
    card = tmp_path / "card.toml"
    card.write_text(_catalog_card_text() + '\nfrom = ["mine.py"]\n')
    runs = tmp_path / "runs"
    args = [
        "--iterations",
        "2",
        "--samples",
        "1",
        "--timesteps",
        "2000",
        "--eval-episodes",
        "2",
        "--no-video",
        "--no-prune",
    ]
    result = runner.invoke(
        app, _run_args(llm_server, runs, *args, "--from", "builtin", "--run-id", "mine", task=str(card))
    )
    assert result.exit_code == 0, result.output

    store = RunStore(runs)
    first = store.candidates("mine", 0)
    assert [(r.origin, r.llm_call_id is None) for r in first] == [
        (str(mine.resolve()), True), (BUILTIN, True), (None, False),
    ]  # fmt: skip
    assert all(r.status == "trained" and r.fitness is not None for r in first), [r.status for r in first]
    assert store.source(first[0].id) == MINE
    assert [r.parent_id for r in store.candidates("mine", 1)] == [first[0].id], "iteration 2 revises the file"

    # the built-in reward: no program stored or loaded, its only component the env's own reward
    builtin = first[1]
    assert store.source(builtin.id) is None and not (store.candidate_dir(builtin.id) / "reward.py").exists()
    assert {name for c in builtin.result["checkpoints"] for name in c["components"]} == {"builtin"}
    assert store.run("mine").best_candidate != builtin.id

    # two LLM requests (design, revise); the revision shows the file first, as the program to improve
    assert len(llm_server.requests) == 2
    revise = llm_server.requests[1].prompt_text
    assert "your program mine.py, the one to improve" in revise
    assert MINE.strip() in revise
    assert revise.index(MINE.strip()) < revise.index("1.0 - 4.0 * abs(state.pole_angle)")
    analysis = store.stage("mine", 0, "analysis")["text"]
    assert "(from mine.py)" in analysis and f"### mine/{builtin.id.partition('/')[2]}" not in analysis
    yardstick = "Yardstick: PPO on the env's own reward (no program), trained with the same budget"
    assert yardstick in analysis and yardstick in revise

    shown = runner.invoke(app, ["show", "mine", "--runs-dir", str(runs)], terminal_width=200)
    assert "it00-c00 (from mine.py)" in shown.stdout and "it00-c01 (built-in reward)" in shown.stdout
    as_json = json.loads(runner.invoke(app, ["show", "mine", "--json", "--runs-dir", str(runs)]).stdout)
    assert [c["origin"] for c in as_json["candidates"][:2]] == [str(mine.resolve()), BUILTIN]

    exported = tmp_path / "exported.py"
    best = store.run("mine").best_candidate
    assert runner.invoke(app, ["export", "mine", "-o", str(exported), "--runs-dir", str(runs)]).exit_code == 0
    header = exported.read_text().split('"""')[1]
    assert descent(store, best, names_only=True) in header and str(mine.resolve()) not in header


def _earlier_run(store: RunStore, run_id: str, task: str, programs: list[tuple[str | None, float]]) -> None:
    """A finished earlier run whose candidates were trained to the given fitness (None: the built-in reward)."""
    card = resolve_task(task)
    store.create_run(run_id, task, card.model_dump(mode="json"), {}, {})
    for idx, (source, fitness) in enumerate(programs):
        origin = BUILTIN if source is None else None
        cid = store.add_candidate(run_id, 0, idx, source, llm_call_id=None, origin=origin)
        store.set_result(cid, {}, fitness, "trained")


def test_examples_from_runs_show_earlier_best_programs_only_with_the_flag(
    tmp_path: Path, llm_server: ScriptedLLMServer, llm_key: str
) -> None:
    llm_server.set_script(lambda request: answer("no code today"))  # every sample rejected: nothing trains
    runs = tmp_path / "runs"
    store = RunStore(runs)
    best_code = MINE.replace("0.1", "0.25")
    _earlier_run(store, "old-a", "cartpole-balance", [(MINE, 80.0), (best_code, 321.0), (None, 500.0)])
    _earlier_run(store, "old-b", "pendulum-swingup", [(MINE.replace("0.1", "0.75"), 999.0)])
    _earlier_run(store, "old-c", "cartpole-balance", [(MINE.replace("0.1", "0.5"), 90.0)])
    _earlier_run(store, "old-d", "cartpole-balance", [(MINE.replace("0.1", "0.6"), 40.0)])
    args = ["--iterations", "1", "--samples", "1"]

    result = runner.invoke(app, _run_args(llm_server, runs, *args, "--examples-from-runs", "--run-id", "with"))
    assert result.exit_code == 1, result.output  # its scripted answer has no program: nothing trains
    prompt = llm_server.requests[-1].prompt_text
    assert "earlier runs on CartPole-v1" in prompt
    assert "Run old-a, this task: true fitness 321 (episode_length)" in prompt and best_code.strip() in prompt
    assert "Run old-c, this task: true fitness 90" in prompt  # the best of each run, at most two runs
    assert "0.6" not in prompt and "0.75" not in prompt and "true fitness 500" not in prompt
    assert store.stage("with", 0, "past_programs")[0]["candidate_id"] == "old-a/it00-c01"

    result = runner.invoke(app, _run_args(llm_server, runs, *args, "--run-id", "without"))
    assert result.exit_code == 1, result.output
    assert len(llm_server.requests) == 2 and "earlier runs" not in llm_server.requests[-1].prompt_text


def test_the_web_page_marks_where_a_program_came_from(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from autoreward.web import create_app

    store = RunStore(tmp_path)
    store.create_run("r", "cartpole-balance", resolve_task("cartpole-balance").model_dump(mode="json"), {}, {})
    hostile = "/x/<img src=x onerror=alert(1)>.py"  # a file name is the user's, but a page never renders it as markup
    add_start_candidates(store, "r", [StartProgram(origin=hostile, source=MINE), StartProgram(origin=BUILTIN)])
    store.add_candidate("r", 0, 2, MINE, llm_call_id=None)
    store.close()
    with TestClient(create_app(tmp_path)) as client:
        candidates = client.get("/api/runs/r").json()["iterations"][0]["candidates"]
        assert [c["origin"] for c in candidates] == ["from <img src=x onerror=alert(1)>.py", "built-in reward", None]
        page = client.get("/runs/r").text
        assert 'class="badge origin">from &lt;img src=x onerror=alert(1)&gt;.py<' in page and "<img src=x" not in page
        assert 'class="badge origin">built-in reward<' in page
        detail = client.get("/runs/r/candidates/it00-c01").text
        assert 'class="badge origin">built-in reward<' in detail
