# expect: dryrun: ValueError
import math


def compute_reward(prev, action, state):
    upright = math.sqrt(state.pole_angle)
    return upright, {"upright": upright}
