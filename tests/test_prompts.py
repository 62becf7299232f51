"""Every template renders for every catalog task with StrictUndefined: no undefined name ever reaches an LLM."""

from __future__ import annotations

import pytest
from suite_marks import task_params

from autoreward.config import LLMSettings
from autoreward.critic.review import review_messages
from autoreward.describe import EnvDescription, describe
from autoreward.designer import Designer
from autoreward.feedback import Feedback, PreferenceRanking, ProgramResult, RejectedProgram
from autoreward.tasks import TaskCard, catalog
from autoreward.templates import render
from autoreward.tokens import count_tokens

PROGRAM = "import numpy as np\n\ndef compute_reward(prev, action, state):\n    return 0.0, {'zero': 0.0}\n"

FULL = Feedback(
    iteration=2,
    best=[
        ProgramResult(label="iteration 2, candidate 1", source=PROGRAM, fitness=-3.5, success=True, analysis="ok"),
        ProgramResult(
            label="iteration 1, candidate 3",
            source=PROGRAM,
            warnings=["dryrun: the reward falls where the task's fitness rises: correlation r = -0.80"],
        ),
    ],
    analysis="All candidates stalled.",
    rejected=[RejectedProgram(label=f"iteration 2, candidate {i}", reasons=["static: imports os"]) for i in range(12)],
    preference=PreferenceRanking(ranking=["iteration 2, candidate 1"], by="human", note="prefers smooth gaits"),
)
EMPTY = Feedback(iteration=0)


@pytest.fixture(scope="module", params=task_params(sorted(catalog())))
def task(request: pytest.FixtureRequest) -> tuple[TaskCard, EnvDescription]:
    card = catalog()[request.param]
    return card, describe(card, steps=50)


def _leaks(text: str) -> list[str]:
    return [bad for bad in ("None", "{{", "{%", "Undefined") if bad in text]


def test_design_and_revision_prompts(task: tuple[TaskCard, EnvDescription]) -> None:
    card, description = task
    designer = Designer(LLMSettings())
    for feedback in (None, EMPTY, FULL):
        system, user = designer.messages(card, description, feedback)
        assert "compute_reward(prev, action, state)" in system.content and "```python" in system.content
        assert card.intent in user.content and description.render().strip() in user.content
        assert not _leaks(user.content), _leaks(user.content)
    revised = designer.messages(card, description, FULL)[1].content
    assert revised.count("def compute_reward") == 2 and "prefers smooth gaits" in revised
    assert "Rejected before training (12)" in revised and revised.count("static: imports os") == FULL.max_rejected
    assert "the reward falls where the task's fitness rises" in revised  # the Critic's direction warning


def test_review_prompt(task: tuple[TaskCard, EnvDescription]) -> None:
    card, description = task
    (message,) = review_messages(PROGRAM, card, description.render(), LLMSettings())
    assert card.intent in message.content and "  4      return 0.0" in message.content
    assert not _leaks(message.content.replace("'zero'", "")), _leaks(message.content)


def test_the_designer_templates_are_shipped() -> None:
    from importlib import resources

    shipped = {p.name for p in resources.files("autoreward.prompts").iterdir() if p.name.endswith(".j2")}
    assert {"description.j2", "system.j2", "design.j2", "revise.j2", "review.j2"} <= shipped


def test_hopper_prompt_sizes_stay_compact() -> None:
    """The whole first-design prompt fits a small local model's context (Qwen2.5-Coder-1.5B: 32k) easily."""
    card = catalog()["hopper-forward"]
    description = describe(card).render()
    system = render("system.j2")
    design = render("design.j2", card=card, description=description)
    assert 200 < count_tokens(system) < 1000
    assert count_tokens(system) + count_tokens(design) < 3000
