# expect: static: assignment to np.random.default_rng
import numpy as np


def compute_reward(prev, action, state):
    np.random.default_rng = None
    return state.pole_angle, {"angle": state.pole_angle}
