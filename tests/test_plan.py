"""The plan step: a goal-only sparse card gets stages before any program, over the State's real fields, each plan
checked on the dry run's rollouts; the accepted one feeds the staged skeleton, and a resumed run asks nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from llm_server import RecordedRequest, Reply, ScriptedLLMServer, answer
from suite_marks import needs_task
from typer.testing import CliRunner

from autoreward.cli import app
from autoreward.config import LLMSettings
from autoreward.critic.plan_check import check_plan, mine_plan, plan_rollouts
from autoreward.describe import describe
from autoreward.loop import Loop
from autoreward.observer import LoopObserver
from autoreward.parts import default_parts
from autoreward.plan import Plan, field_names, parse_plan, plan_grammar
from autoreward.runconfig import RunConfig
from autoreward.runs import create_run
from autoreward.store import RunStore
from autoreward.tasks import TaskCard, load_card, resolve_task

pytestmark = needs_task("minigrid-doorkey-8x8")

GOAL_ONLY = TaskCard(
    name="open-locked-door", env_id="MiniGrid-DoorKey-8x8-v0", fitness="success_rate", ends_on_success=True,
    intent="Open the locked door: find and pick up the key, carry it to the door and unlock it, then reach the goal.",
)  # fmt: skip
GOOD = {
    "stages": [
        {"ends_when": 'carrying["key"]', "ends": "rises", "progress": 'distance["key"]', "direction": "shrinks"},
        {"ends_when": "doors_open", "ends": "rises", "progress": 'distance["door"]', "direction": "shrinks"},
        {"ends_when": None, "progress": 'distance["goal"]', "direction": "shrinks"},
    ]
}
# The same stages with the distances paid for growing: the Critic rejects it on the solving paths.
BACKWARDS = {"stages": [{**s, "direction": "grows"} for s in GOOD["stages"]]}
INVENTED = {"stages": [{"ends_when": "key_position", "progress": 'distance["key"]', "direction": "shrinks"}]}


def test_the_grammar_and_the_parser_know_only_the_states_real_fields() -> None:
    description = describe(GOAL_ONLY, steps=20)
    names = field_names(description)
    assert 'distance["key"]' in names and "doors_open" in names and "obs" not in names
    grammar = plan_grammar(description, LLMSettings(model="local"))
    assert json.dumps(json.dumps('distance["key"]')) in grammar and "key_position" not in grammar
    assert parse_plan(json.dumps(INVENTED), names) == "the plan names key_position, which is not a State field"
    assert "no JSON object" in str(parse_plan("stages: key, door", names))
    plan = parse_plan("Here it is:\n```json\n" + json.dumps(GOOD) + "\n```", names)
    assert isinstance(plan, Plan) and [s.head for s in plan.stages] == [
        'carrying["key"]',
        "doors_open",
        'distance["goal"]',
    ]
    assert '[[subgoals]]\nends_when = "doors_open"\nprogress = "distance[\\"door\\"]"' in plan.toml()


def test_plans_are_checked_on_the_solving_paths_and_mined_from_them() -> None:
    data = plan_rollouts(GOAL_ONLY)
    names = field_names(describe(GOAL_ONLY, steps=20))
    good, backwards = (parse_plan(json.dumps(p), names) for p in (GOOD, BACKWARDS))
    assert isinstance(good, Plan) and isinstance(backwards, Plan)
    assert check_plan(good, data, ends_on_success=True, discount=0.99) == []
    [reason] = check_plan(backwards, data, ends_on_success=True, discount=0.99)
    assert reason.startswith("the plan's potential punishes progress")
    mined = mine_plan(data)  # the stages a person wrote on the catalog card, found from the paths alone
    assert mined is not None and [s.head for s in mined.stages] == [s.head for s in good.stages]
    assert all(s.progress and s.progress.startswith("distance[") for s in mined.stages), mined.stages
    assert check_plan(mined, data, ends_on_success=True, discount=0.99) == []
    card = resolve_task("minigrid-doorkey-8x8")
    assert check_plan(Plan(stages=card.subgoals, origin="card"), data, ends_on_success=True, discount=0.99) == []


@pytest.mark.parametrize("task", ["minigrid-doorkey-5x5", "minigrid-keycorridor"])
def test_mining_holds_on_short_paths(task: str) -> None:
    """On small grids most of a solving path is turning: the mined measures are still walked distances, never a
    heading or what is in front, and the mined plan passes its own check."""
    card = resolve_task(task)
    goal_only = card.model_copy(update={"subgoals": [], "family": "custom"})
    data = plan_rollouts(goal_only)
    mined = mine_plan(data)
    assert mined is not None
    measures = [s.progress for s in mined.stages if s.progress]
    assert measures and not any(m == "agent_dir" or m.startswith("front[") for m in measures), mined.stages
    assert check_plan(mined, data, ends_on_success=True, discount=0.99) == []


def _script(request: RecordedRequest) -> Reply:
    if "plan the stages" in request.prompt_text:
        return answer(json.dumps(INVENTED), json.dumps(BACKWARDS), json.dumps(GOOD))
    raise AssertionError("only the plan is asked here")


def test_the_loop_plans_a_goal_only_card_and_the_skeleton_follows(tmp_path: Path) -> None:
    with ScriptedLLMServer(_script) as server:
        settings = LLMSettings(
            model="openai/test-model", api_base=server.base_url, samples=2, prompt_style="skeleton", grammar=True
        )
        config = RunConfig(task=GOAL_ONLY.name, iterations=1, llm_review=False, video=False, llm=settings)
        store = RunStore(tmp_path / "runs")
        run_id = create_run(store, GOAL_ONLY, config, "plan")

        def session() -> Loop:
            loop = Loop(store, run_id, GOAL_ONLY, default_parts(config, GOAL_ONLY), LoopObserver())
            loop._description()
            loop._plan()
            return loop

        loop = session()
        [asked] = server.requests
        assert "key_position" not in asked.prompt_text
        assert json.dumps(json.dumps('distance["key"]')) in asked.body["grammar"]
        resumed = session()
        assert len(server.requests) == 1  # the stored plans are read back, nothing is asked again
    plans = [Plan.model_validate(p) for p in store.stage(run_id, 0, "plans")]
    # the backwards plan, rejected; the good one; the mined one (it measures the door's stage by the locked door)
    assert [p.accepted for p in plans] == [False, True, True] and plans[2].origin == "mined"
    assert "punishes progress" in plans[0].reasons[0]
    for planned in (loop.card, resumed.card):
        assert planned.subgoal_flags == ['carrying["key"]', "doors_open"]
        assert planned.subgoal_targets == ['distance["key"]', 'distance["door"]', 'distance["goal"]']
    prompt = resumed.designer.messages(resumed.card, resumed._prompt_description(""))[1].content
    assert "reached = ..." in prompt and "elif state.doors_open < 1:" in prompt
    shown = CliRunner().invoke(app, ["show", run_id, "--runs-dir", str(tmp_path / "runs")], terminal_width=300)
    assert "llm plan, rejected: the plan's potential punishes progress" in shown.stdout
    assert 'llm plan, accepted: carrying["key"] (distance["key"] shrinks) -> doors_open' in shown.stdout


@pytest.mark.parametrize("task", ["minigrid-doorkey-8x8"])
def test_a_cards_own_plan_is_checked_and_then_nothing_is_asked(task: str, tmp_path: Path) -> None:
    card = resolve_task(task)
    settings = LLMSettings(model="openai/test-model", api_base="http://127.0.0.1:9", samples=2)
    config = RunConfig(task=card.name, iterations=1, llm_review=False, video=False, llm=settings)
    store = RunStore(tmp_path / "runs")
    run_id = create_run(store, card, config, "own")
    loop = Loop(store, run_id, card, default_parts(config, card), LoopObserver())
    loop._description()
    loop._plan()  # no server listens on port 9: an LLM call would fail
    [plan] = [Plan.model_validate(p) for p in store.stage(run_id, 0, "plans")]
    assert plan.origin == "card" and plan.accepted and loop.card.subgoal_flags == card.subgoal_flags


def test_plan_command_prints_a_snippet_that_makes_the_card_staged(tmp_path: Path) -> None:
    card = tmp_path / "goal.toml"
    card.write_text(
        'name = "open-locked-door"\nenv_id = "MiniGrid-DoorKey-8x8-v0"\nintent = "Unlock the door and reach the goal."\n'
        'fitness = "success_rate"\nends_on_success = true\n'
    )
    result = CliRunner().invoke(app, ["plan", str(card)])
    assert result.exit_code == 0, result.output
    assert "mined plan, accepted" in result.stderr
    card.write_text(card.read_text() + result.stdout)
    assert load_card(card).subgoal_flags == ['carrying["key"]', "doors_open"]
    dense = CliRunner().invoke(app, ["plan", "cartpole-balance"])
    assert dense.exit_code == 1 and "give --model to ask an LLM" in dense.stderr


def _script_with_programs(request: RecordedRequest) -> Reply:
    if "plan the stages" in request.prompt_text:
        return answer(json.dumps(GOOD))
    return answer("no program here")  # the designs' prompts and grammars are what this test reads


def test_where_several_plans_pass_the_samples_follow_them_in_turn(tmp_path: Path) -> None:
    with ScriptedLLMServer(_script_with_programs) as server:
        settings = LLMSettings(
            model="openai/test-model", api_base=server.base_url, samples=3, prompt_style="skeleton", grammar=True,
            resample=0,
        )  # fmt: skip
        config = RunConfig(task=GOAL_ONLY.name, iterations=1, llm_review=False, video=False, llm=settings)
        store = RunStore(tmp_path / "runs")
        run_id = create_run(store, GOAL_ONLY, config, "plans")
        loop = Loop(store, run_id, GOAL_ONLY, default_parts(config, GOAL_ONLY), LoopObserver())
        loop._description()
        loop._plan()
        loop._design(0, "")
        designs = server.requests[1:]
    plans = [Plan.model_validate(p) for p in store.stage(run_id, 0, "plans")]
    accepted = [p for p in plans if p.accepted]
    assert len(accepted) == 2  # the LLM's and the mined one, which differ in the door's measure
    assert [r.body.get("n", 1) for r in designs] == [2, 1]  # three samples over two plans
    prompts = [r.prompt_text for r in designs]
    assert prompts[0] != prompts[1] and all("grammar" in r.body for r in designs)
    for plan, other, prompt in zip(accepted, accepted[::-1], prompts, strict=True):
        own = {s.progress for s in plan.stages if s.progress} - {s.progress for s in other.stages}
        assert own and all(f"state.{m}" in prompt for m in own), own  # each skeleton is its own plan's
    assert [r.idx for r in store.candidates(run_id, 0)] == [0, 1, 2]
