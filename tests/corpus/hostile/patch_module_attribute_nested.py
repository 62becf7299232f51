# expect: static: numpy.random: not on the list
import numpy as np


def compute_reward(prev, action, state):
    np.random.default_rng = None
    return state.pole_angle, {"angle": state.pole_angle}
