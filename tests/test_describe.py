"""Descriptions: every catalog task renders a compact account that names what the State really holds."""

from __future__ import annotations

from pathlib import Path

import pytest
from suite_marks import task_params

from autoreward.describe import describe
from autoreward.tasks import catalog, load_card

ASSETS = Path(__file__).parent / "assets"


@pytest.mark.parametrize("task", task_params(list(catalog())))
def test_description_renders_every_field(task: str) -> None:
    card = catalog()[task]
    description = describe(card, steps=120)
    text = description.render()
    assert card.intent in text and card.env_id in text
    for field in description.fields:
        assert f"- {field.name}" in text
        for entry in field.entries:
            assert entry.key in text
            assert all(lo <= hi for lo, hi in zip(entry.low, entry.high, strict=True))
    covered = sum(span.stop - span.start for span in description.obs_layout)
    assert covered == description.obs_shape[0]
    assert 100 < description.tokens() < 4000, "descriptions stay compact"


def test_hopper_observation_layout_is_found_by_matching() -> None:
    description = describe(catalog()["hopper-forward"])
    spans = [(s.start, s.stop, s.field, s.parts) for s in description.obs_layout]
    assert spans == [
        (0, 5, "joint_angle", ["rootz", "rooty", "thigh_joint", "leg_joint", "foot_joint"]),
        (5, 11, "joint_velocity", ["rootx", "rootz", "rooty", "thigh_joint", "leg_joint", "foot_joint"]),
    ]
    assert description.action.names == ["thigh_joint", "leg_joint", "foot_joint"]
    assert description.terminations > 0, "random hopping falls over within 300 steps"


def test_measured_ranges_come_from_the_rollout() -> None:
    description = describe(catalog()["cartpole-balance"], steps=200)
    pole = next(f for f in description.fields if f.name == "pole_angle")
    low, high = pole.entries[0].low[0], pole.entries[0].high[0]
    assert -0.25 < low < 0 < high < 0.25  # the env ends episodes beyond ±0.2095 rad


def test_custom_xml_env_gets_a_description(tmp_path: Path) -> None:
    card_path = tmp_path / "arm.toml"
    card_path.write_text(
        f'name = "arm-swing"\nenv_id = "CustomArm-v0"\nintent = "Swing the hand up."\nmodule = "{ASSETS}/custom_arm.py"\n'
    )
    description = describe(load_card(card_path), steps=50)
    text = description.render()
    for name in ("slider", "shoulder", "elbow", "upper_arm", "hand", "tip", "site_pos"):
        assert name in text
    assert description.action.names == ["push", "shoulder", "elbow"]
    assert [s.field for s in description.obs_layout] == ["joint_angle", "joint_velocity"]
