# expect: static: import *
from numpy import *


def compute_reward(prev, action, state):
    return float(cos(state.pole_angle)), {"upright": float(cos(state.pole_angle))}
