"""Documented observation layouts of envs without a MuJoCo model, as named State fields.

Sources: the gymnasium docs of each env ("Observation Space"). Keyed by the env's id without version, so
``CartPole-v1`` and a future ``CartPole-v2`` share a layout until the docs say otherwise.
"""

from __future__ import annotations

import math

from autoreward.envs.manipulation import MANIPULATION_LAYOUTS
from autoreward.envs.state import ObsField

OBS_LAYOUTS: dict[str, tuple[ObsField, ...]] = {
    "CartPole": (
        ObsField("cart_position", "m", "cart position on the track (0 = centre; episode ends beyond ±2.4)", 0),
        ObsField("cart_velocity", "m/s", "cart velocity", 1),
        ObsField("pole_angle", "rad", "pole angle from vertical (episode ends beyond ±0.2095)", 2),
        ObsField("pole_angular_velocity", "rad/s", "pole angular velocity", 3),
    ),
    "Pendulum": (
        ObsField("cos_angle", "", "cos of the pendulum angle (1 = upright)", 0),
        ObsField("sin_angle", "", "sin of the pendulum angle", 1),
        ObsField("angular_velocity", "rad/s", "angular velocity (the env clips it to ±8)", 2),
        ObsField(
            "angle", "rad", "pendulum angle from upright, in [-pi, pi]",
            derive=lambda v: math.atan2(v["sin_angle"], v["cos_angle"]),
        ),
    ),
    "MountainCarContinuous": (
        ObsField("position", "m", "car position along the valley (goal at 0.45, valley bottom near -0.52)", 0),
        ObsField("velocity", "m/s", "car velocity (clipped to ±0.07)", 1),
    ),
    "MountainCar": (
        ObsField("position", "m", "car position along the valley (goal at 0.5, valley bottom near -0.52)", 0),
        ObsField("velocity", "m/s", "car velocity (clipped to ±0.07)", 1),
    ),
    "Acrobot": (
        ObsField("cos_angle1", "", "cos of the first link's angle (1 = hanging down)", 0),
        ObsField("sin_angle1", "", "sin of the first link's angle", 1),
        ObsField("cos_angle2", "", "cos of the second link's angle relative to the first", 2),
        ObsField("sin_angle2", "", "sin of the second link's angle relative to the first", 3),
        ObsField("angular_velocity1", "rad/s", "first link's angular velocity", 4),
        ObsField("angular_velocity2", "rad/s", "second link's angular velocity", 5),
        ObsField(
            "tip_height", "m", "height of the free end above the pivot (goal: above 1.0)",
            derive=lambda v: -v["cos_angle1"]
            - (v["cos_angle1"] * v["cos_angle2"] - v["sin_angle1"] * v["sin_angle2"]),
        ),
    ),
}  # fmt: skip


def obs_layout(env_id: str) -> tuple[ObsField, ...]:
    """The named layout for ``env_id`` (any version, any namespace), or none."""
    base = env_id.split("/")[-1].rsplit("-v", 1)[0]
    return OBS_LAYOUTS.get(base) or MANIPULATION_LAYOUTS.get(base, ())
