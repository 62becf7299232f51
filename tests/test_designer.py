"""The Designer, extraction and the LLM review, against the real scripted server through litellm."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from llm_server import ScriptedLLMServer, answer

from autoreward.config import LLMSettings
from autoreward.critic.review import parse_review, review, review_program
from autoreward.critic.verdict import Reason
from autoreward.designer import Designer, candidates_from
from autoreward.errors import AutorewardError
from autoreward.extract import extract_program
from autoreward.feedback import Feedback, PreferenceRanking, ProgramResult, RejectedProgram
from autoreward.llm import CallRecord
from autoreward.tasks import resolve_task

PROGRAM = """import numpy as np


def compute_reward(prev, action, state):
    components = {
        "forward": float(state.x_velocity),
        "control": -0.001 * float(np.sum(np.square(action))),
    }
    return float(sum(components.values())), components
"""

DESCRIPTION = "Task: hopper-forward (gymnasium env Hopper-v5)\n- x_velocity (m/s): forward velocity."

FORMATS = {
    "fenced python": f"Here is the idea.\n\n```python\n{PROGRAM}```\n\nIt rewards speed.",
    "bare fence": f"```\n{PROGRAM}```",
    "tilde fence": f"~~~py\n{PROGRAM}~~~",
    "indented fence": "1. The program:\n\n    ```python\n"
    + "".join(f"    {line}\n" for line in PROGRAM.splitlines())
    + "    ```",
    "several blocks": f"Shape:\n```python\nx = state.x_velocity\n```\nFull:\n```python\n{PROGRAM}```\nUse:\n```bash\npip install numpy\n```",
    "draft then fix": f"```python\n{PROGRAM.replace('float(state', '(float(state')}```\nFixed:\n```python\n{PROGRAM}```",
    "no fence": f"Sure! This reward follows.\n\n{PROGRAM}\nThis should work well. Hope it helps.",
    "reasoning model": f"<think>Try:\n```python\ndef compute_reward(prev, action, state):\n    return 0.0, {{}}\n```\nBetter with velocity.</think>\nHere it is.\n\n{PROGRAM}",
    "no fence, code-like prose": f"The reward = speed - cost.\n{PROGRAM}\nresult = a faster hop.\n",
    "example usage": f"```python\n{PROGRAM}\nif __name__ == '__main__':\n    print(compute_reward(None, None, None))\nprint('demo')\n```",
}


@pytest.mark.parametrize("shape", FORMATS)
def test_extracts_the_program(shape: str) -> None:
    source = extract_program(FORMATS[shape])
    assert isinstance(source, str), source
    assert ast.dump(ast.parse(source)) == ast.dump(ast.parse(PROGRAM))


@pytest.mark.parametrize(
    ("answer", "finish", "says"),
    [
        ("", "stop", "empty"),
        (None, "stop", "empty"),
        ("I cannot help with that.", "stop", "no `def compute_reward"),
        ("```python\nx = 1\n```", "stop", "in its code blocks"),
        (f"```python\n{PROGRAM[:-30]}", "length", "truncated"),
        (f"```python\n{PROGRAM[:95]}", "stop", "truncated"),
        ("```python\ndef compute_reward(prev, action, state):\n    return 1 +\n```", "stop", "syntax error"),
        (
            "```python\nclass R:\n    def compute_reward(prev, action, state):\n        return 0.0, {}\n```",
            None,
            "top-level",
        ),
    ],
)
def test_garbage_becomes_a_reason(answer: str | None, finish: str | None, says: str) -> None:
    reason = extract_program(answer, finish)
    assert isinstance(reason, Reason) and reason.stage == "extract" and reason.severity == "error"
    assert says in reason.message


def test_k_candidates_from_varied_formats(llm_server: ScriptedLLMServer, llm_settings: LLMSettings) -> None:
    card = resolve_task("hopper-forward")
    answers = [FORMATS["fenced python"], FORMATS["no fence"], "no code at all", FORMATS["several blocks"], ""]
    llm_server.set_script([answer(*answers)])
    design = Designer(llm_settings).design(card, DESCRIPTION, k=5)
    assert [c.ok for c in design.candidates] == [True, True, False, True, False]
    assert len(design.programs) == 3 and all("def compute_reward" in p for p in design.programs)
    assert "no `def compute_reward" in str(design.candidates[2].reason)
    assert "empty" in str(design.candidates[4].reason)
    assert {c.call_id for c in design.candidates} == {design.record.id}
    stored = CallRecord.model_validate_json(design.record.model_dump_json())  # as a resumed run reads it back
    assert candidates_from(stored) == design.candidates
    assert design.record.purpose == "design" and design.record.n == 5
    (request,) = llm_server.requests
    system, user = request.messages
    assert system["role"] == "system" and "compute_reward(prev, action, state)" in system["content"]
    assert DESCRIPTION in user["content"] and card.intent in user["content"]


def test_a_failed_sample_is_a_rejected_candidate(llm_server: ScriptedLLMServer, llm_settings: LLMSettings) -> None:
    from llm_server import fault

    llm_server.set_script([answer(FORMATS["bare fence"], ignore_n=True), *[fault(500)] * 5])
    design = Designer(llm_settings.model_copy(update={"max_retries": 1})).design(
        resolve_task("hopper-forward"), DESCRIPTION, k=2
    )
    assert [c.ok for c in design.candidates] == [True, False]
    assert "the LLM request failed" in str(design.candidates[1].reason)


def test_revision_prompt_carries_the_feedback(llm_server: ScriptedLLMServer, llm_settings: LLMSettings) -> None:
    feedback = Feedback(
        iteration=1,
        best=[
            ProgramResult(
                label="iteration 1, candidate 2",
                source=PROGRAM,
                fitness=1.234,
                success=False,
                analysis="forward: mean 0.8, rising; control: mean -0.02",
            )
        ],
        analysis="The hopper leans forward and falls after 80 steps.",
        rejected=[RejectedProgram(label="iteration 1, candidate 4", reasons=["dryrun: returned an array"])],
        preference=PreferenceRanking(ranking=["iteration 1, candidate 2", "iteration 1, candidate 1"], by="synthetic"),
    )
    llm_server.set_script([answer(FORMATS["fenced python"])])
    design = Designer(llm_settings).design(resolve_task("hopper-forward"), DESCRIPTION, feedback, k=1)
    assert design.record.purpose == "revise" and design.candidates[0].ok
    user = llm_server.requests[0].messages[1]["content"]
    for expected in (
        "iteration 1, candidate 2: fitness 1.23 (did not succeed)",
        "forward: mean 0.8",
        PROGRAM.strip(),
        "falls after 80 steps",
        "dryrun: returned an array",
        "1. iteration 1, candidate 2",
    ):
        assert expected in user


def test_user_prompts_dir_wins(llm_server: ScriptedLLMServer, llm_settings: LLMSettings, tmp_path: Path) -> None:
    (tmp_path / "system.j2").write_text("MY OWN SYSTEM PROMPT")
    llm_server.set_script([answer(FORMATS["bare fence"])])
    settings = llm_settings.model_copy(update={"prompts_dir": tmp_path})
    Designer(settings).design(resolve_task("hopper-forward"), DESCRIPTION, k=1)
    system, user = llm_server.requests[0].messages
    assert system["content"] == "MY OWN SYSTEM PROMPT" and DESCRIPTION in user["content"]


def test_broken_user_template_is_one_clear_line(llm_settings: LLMSettings, tmp_path: Path) -> None:
    (tmp_path / "design.j2").write_text("Intent: {{ card.intent }} {{ typo_variable }}")
    settings = llm_settings.model_copy(update={"prompts_dir": tmp_path})
    with pytest.raises(
        AutorewardError,
        match=r"design.j2: 'typo_variable' is undefined; it may use: action_kind, card, description, discount, example",
    ):
        Designer(settings).messages(resolve_task("hopper-forward"), DESCRIPTION)
    (tmp_path / "design.j2").write_text("{% if %}")
    with pytest.raises(AutorewardError, match=r"design.j2 line 1: "):
        Designer(settings).messages(resolve_task("hopper-forward"), DESCRIPTION)


def test_review_through_the_server(llm_server: ScriptedLLMServer, llm_settings: LLMSettings) -> None:
    verdict = (
        'Looks risky.\n```json\n{"verdict": "reject", "findings": [{"severity": "error", "line": 7, '
        '"message": "The control cost is added as a bonus."}, {"severity": "warning", "line": null, '
        '"message": "No alive bonus."}]}\n```'
    )
    llm_server.set_script([answer(verdict)])
    card = resolve_task("hopper-forward")
    result = review_program(PROGRAM, card, DESCRIPTION, llm_settings)
    assert [(r.severity, r.line) for r in result.reasons] == [("error", 7), ("warning", None)]
    assert result.record.purpose == "review"
    sent = llm_server.requests[0].body
    assert sent["temperature"] == 0.0 and "n" not in sent
    prompt = llm_server.requests[0].prompt_text
    assert card.intent in prompt and "  5      components = {" in prompt and '"verdict"' in prompt
    llm_server.set_script([answer("I think it is fine!")])
    (warning,) = review(PROGRAM, card, DESCRIPTION, llm_settings)
    assert warning.severity == "warning" and "no readable JSON" in warning.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"verdict": "accept", "findings": []}', []),
        ('{"verdict": "accept", "findings": [{"severity": "error", "line": 2, "message": "m"}]}', [("warning", 2)]),
        ('{"verdict": "reject", "findings": []}', [("error", None)]),
        (
            'Verdict below {"verdict": "reject", "findings": ["sign flipped"]} thanks',
            [("warning", None), ("error", None)],
        ),
        ('{"verdict": "maybe"}', [("warning", None)]),
        (
            '{"verdict": "accept", "findings": [{"severity": "error", "line": "x", "message": "m"}, 5]}',
            [("warning", None)],
        ),
        ("[1, 2]", [("warning", None)]),
        ('{"verdict": "reject", "findings": [', [("warning", None)]),
    ],
)
def test_review_parsing_never_crashes(text: str, expected: list[tuple[str, int | None]]) -> None:
    assert [(r.severity, r.line) for r in parse_review(text)] == expected


@pytest.mark.slow
def test_check_command_runs_the_review_through_the_server(
    llm_server: ScriptedLLMServer, llm_key: str, tmp_path: Path
) -> None:
    """`autoreward check` with a model configured by environment variables: the review is a real LLM call."""
    import os
    import subprocess

    verdict = '{"verdict": "reject", "findings": [{"severity": "error", "line": 6, "message": "Control is a bonus."}]}'
    llm_server.set_script([answer(verdict)])
    program = tmp_path / "reward.py"
    program.write_text(PROGRAM)
    env = {**os.environ, "AUTOREWARD_MODEL": "openai/test-model", "AUTOREWARD_API_BASE": llm_server.base_url}
    done = subprocess.run(
        ["autoreward", "check", str(program), "--task", "hopper-forward"],
        env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "review: line 6: Control is a bonus." in done.stdout + done.stderr
    assert llm_key not in done.stdout + done.stderr
    (request,) = llm_server.requests
    assert PROGRAM.splitlines()[5] in request.prompt_text
