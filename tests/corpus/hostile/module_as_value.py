# expect: static: module 'np' used as a value
# Red team: a module bound to another name, so that its members are read under a name no rule watches.
import numpy as np


def compute_reward(prev, action, state):
    lib = np
    lib.save("/tmp/pwned_module_as_value", state.obs)
    return state.pole_angle, {"angle": state.pole_angle}
