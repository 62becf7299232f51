"""A card's sub-goals are typed tables (what ends each stage, what measures progress in it); the older string form
converts to the same stages, so the skeleton reads one structure either way."""

from __future__ import annotations

from pathlib import Path

from autoreward.subgoals import Subgoal, subgoal_from_text
from autoreward.tasks import load_card, resolve_task

TYPED = """
name = "open-and-go"
env_id = "MiniGrid-DoorKey-8x8-v0"
intent = "Open the door with the key and reach the goal."
fitness = "success_rate"

[[subgoals]]
ends_when = 'carrying["key"]'
progress = 'distance["key"]'
direction = "shrinks"

[[subgoals]]
ends_when = "doors_open"
progress = 'distance["door"]'
direction = "shrinks"

[[subgoals]]
progress = 'distance["goal"]'
direction = "shrinks"
"""


def test_typed_tables_give_the_stages_the_string_form_gave(tmp_path: Path) -> None:
    path = tmp_path / "card.toml"
    path.write_text(TYPED)
    typed, strings = load_card(path), resolve_task("minigrid-doorkey-8x8")
    for name in ("subgoal_flags", "subgoal_gains", "subgoal_targets", "subgoal_distances"):
        assert getattr(typed, name) == getattr(strings, name), name
    assert typed.subgoal_flags == ['carrying["key"]', "doors_open"]
    assert typed.subgoals[2].text == 'distance["goal"]: shrinks inside the stage'


def test_the_string_form_converts_flags_measures_and_directions() -> None:
    flag = subgoal_from_text('doors_locked: 1 -> 0 when unlocked; walk to it: distance["locked_door"]')
    assert flag == Subgoal(ends_when="doors_locked", ends="falls", progress='distance["locked_door"]', note=flag.note)
    assert subgoal_from_text('inventory["wood"]: grows when wood is collected').direction == "grows"
    assert subgoal_from_text("position: its maximum grows").direction is None  # unstated: no sign is assumed
    assert subgoal_from_text(flag.text) == flag  # the description's line converts back to the same stage
