# runtime: fast through a dry run, then 0.25 s a call in training: no per-call limit fires, only the
# parent's stall limit stops it, long before the budget's wall limit
import time

import numpy as np

calls = [0]


def compute_reward(prev, action, state):
    calls[0] += 1
    if calls[0] > 400:
        time.sleep(0.25)
    upright = 1.0 - float(np.abs(state.pole_angle))
    return upright, {"upright": upright}
