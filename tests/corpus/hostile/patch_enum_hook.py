# expect: static: assignment to enum.Enum._missing_
# Red team: a hook every Enum lookup in the user's process would call with the user's classes.
import enum


def hook(cls, value):
    return None


def compute_reward(prev, action, state):
    enum.Enum._missing_ = hook
    return state.pole_angle, {"angle": state.pole_angle}
