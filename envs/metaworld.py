"""MetaWorld (``Meta-World/MT1`` with ``env_name``) as autoreward describes it: the generic MuJoCo State plus
MetaWorld's documented 39-entry observation (``envs/manipulation.py``), the Sawyer's pedestal, head and cameras
left out of the description, and the action's meaning (MetaWorld moves a mocap hand, so its two finger actuators
do not name the four action entries).
"""

from __future__ import annotations

import gymnasium as gym

from autoreward.envs.classic import obs_layout
from autoreward.envs.state import StateSpec, build_state_spec
from autoreward.envs.suites import hide_entries

_HIDDEN = ("table", "Wall", "base", "controller", "pedestal", "torso", "head", "screen", "camera", "itb", "_2",
           "mocap", "site")  # fmt: skip
_OBS_DOC = (
    "MetaWorld's observation: this step's hand_pos, gripper_opening, obj_pos, obj_quat and a second object's "
    "pos and quat (zeros here) (0:18), the same 18 entries one step earlier (18:36), goal_pos (36:39)"
)


def action_names(env: gym.Env) -> list[str]:
    """The hand's displacement per step (scaled by 1/100 m) and the gripper's effort: +1 closes."""
    return ["hand_dx", "hand_dy", "hand_dz", "close_gripper"]


def state_spec(env: gym.Env) -> StateSpec:
    spec = build_state_spec(env, obs_layout(env.spec.id if env.spec is not None else ""))
    return hide_entries(spec, _HIDDEN, _OBS_DOC)
