"""gymnasium-robotics Fetch as autoreward trains it: the dict observation flattened, and a State by name.

Fetch observes a dict (``observation``, ``achieved_goal``, ``desired_goal``). The policy is SB3's MlpPolicy on
``gymnasium.wrappers.FlattenObservation`` (keys in sorted order): the same network MultiInputPolicy would build
from three flattened inputs, while every other suite and the rest of autoreward keep one policy class and one
observation kind. ``State.obs`` is that flattened vector (``envs/state.py`` flattens a dict observation the same
way, so an exported reward works on the env's raw dict too). Fields: the automatic MuJoCo builder (the robot's
bodies, minus cameras and sensor frames nobody rewards) plus the documented layout's grip, object and goal.
"""

from __future__ import annotations

import gymnasium as gym

from autoreward.envs.classic import obs_layout
from autoreward.envs.state import StateSpec, build_state_spec
from autoreward.envs.suites import hide_entries

_HIDDEN = ("camera", "_frame", "laser", "estop", "mocap", "head_", "floor0", "torso_fixed")
_OBS_DOC = (
    "the env's dict observation flattened in sorted key order: achieved_goal (0:3), desired_goal (3:6), then "
    "observation (6:)"
)


def wrap(env: gym.Env) -> gym.Env:
    return gym.wrappers.FlattenObservation(env)


def action_names(env: gym.Env) -> list[str]:
    """Fetch moves its grip site by a displacement (scaled by 5 cm) and drives both fingers: +1 opens."""
    return ["grip_dx", "grip_dy", "grip_dz", "open_fingers"]


def state_spec(env: gym.Env) -> StateSpec:
    """The generic MuJoCo State with Fetch's documented layout."""
    spec = build_state_spec(env, obs_layout(env.spec.id if env.spec is not None else ""))
    return hide_entries(spec, _HIDDEN, _OBS_DOC)
