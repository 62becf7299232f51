"""Documented observation layouts of the manipulation suites (MetaWorld, gymnasium-robotics Fetch).

The MuJoCo builder names every body, joint and site, but some of what a manipulation reward needs lives only in
the observation: the goal (MetaWorld's target and Fetch's ``desired_goal`` are not kept in any site that moves
with them) and the gripper's normalised opening. These layouts name those slices.

Sources: MetaWorld 3.1.1 ``SawyerXYZEnv._get_obs`` (39 entries: the current 18-entry frame, the previous
frame, the goal) and gymnasium-robotics ``MujocoFetchEnv._get_obs``; a Fetch observation is a dict, which the
State flattens in sorted key order (achieved_goal 0:3, desired_goal 3:6, observation 6:), as
``gymnasium.wrappers.FlattenObservation`` does for the policy. Standalone (numpy only, plus the State module),
so ``autoreward export`` ships it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from autoreward.envs.state import ObsField


def _distance(a: str, b: str) -> Any:
    def derive(v: Mapping[str, Any]) -> float:
        return float(np.linalg.norm(np.asarray(v[a]) - np.asarray(v[b])))

    return derive


_METAWORLD = (
    ObsField("hand_pos", "m", "position of the hand (the gripper's palm, ~4.5 cm above the fingertips; "
             "site_pos['rightEndEffector'] and ['leftEndEffector'] are the fingertips)", 0, size=3),
    ObsField("gripper_opening", "", "distance between the fingers, normalised: 0 closed, 1 fully open", 3),
    ObsField("obj_pos", "m", "position of the task's object (the puck, handle, button or window the intent names)",
             4, size=3),
    ObsField("obj_quat", "", "orientation quaternion (w, x, y, z) of the task's object", 7, size=4),
    ObsField("goal_pos", "m", "the target position this episode (where the object or hand must go)", 36, size=3),
    ObsField("hand_obj_distance", "m", "distance from the gripper to the object",
             derive=_distance("hand_pos", "obj_pos")),
    ObsField("obj_goal_distance", "m", "distance from the object to the goal",
             derive=_distance("obj_pos", "goal_pos")),
    ObsField("hand_goal_distance", "m", "distance from the gripper to the goal",
             derive=_distance("hand_pos", "goal_pos")),
)  # fmt: skip

_FETCH_REACH = (
    ObsField("goal_pos", "m", "the target position this episode (desired_goal)", 3, size=3),
    ObsField("grip_pos", "m", "position of the gripper's grip site (achieved_goal)", 6, size=3),
    ObsField("finger_widths", "m", "position of each of the two finger joints (0 closed, ~0.05 open)", 9, size=2),
    ObsField("grip_velocity", "m/step", "grip site velocity times the control step (0.04 s)", 11, size=3),
    ObsField("grip_goal_distance", "m", "distance from the grip to the goal (success below 0.05)",
             derive=_distance("grip_pos", "goal_pos")),
)  # fmt: skip

_FETCH_OBJECT = (
    ObsField("goal_pos", "m", "the target position of the object this episode (desired_goal)", 3, size=3),
    ObsField("grip_pos", "m", "position of the gripper's grip site", 6, size=3),
    ObsField("object_pos", "m", "position of the object (achieved_goal)", 9, size=3),
    ObsField("object_rel_pos", "m", "object position minus grip position", 12, size=3),
    ObsField("finger_widths", "m", "position of each of the two finger joints (0 closed, ~0.05 open)", 15, size=2),
    ObsField("object_rot", "rad", "object orientation as Euler angles", 17, size=3),
    ObsField("object_velocity", "m/step", "object velocity relative to the grip, times the control step (0.04 s)",
             20, size=3),
    ObsField("grip_velocity", "m/step", "grip site velocity times the control step (0.04 s)", 26, size=3),
    ObsField("object_goal_distance", "m", "distance from the object to the goal (success below 0.05)",
             derive=_distance("object_pos", "goal_pos")),
    ObsField("grip_object_distance", "m", "distance from the grip to the object",
             derive=_distance("grip_pos", "object_pos")),
)  # fmt: skip

MANIPULATION_LAYOUTS: dict[str, tuple[ObsField, ...]] = {
    "MT1": _METAWORLD,
    "goal_observable": _METAWORLD,
    "FetchReach": _FETCH_REACH,
    "FetchPush": _FETCH_OBJECT,
    "FetchPickAndPlace": _FETCH_OBJECT,
    "FetchSlide": _FETCH_OBJECT,
}
