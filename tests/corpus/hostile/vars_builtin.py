# expect: static: 'vars' is not allowed
# Red team: vars() and friends read namespaces by name.
import math


def compute_reward(prev, action, state):
    vars(math)
    return state.pole_angle, {"angle": state.pole_angle}
