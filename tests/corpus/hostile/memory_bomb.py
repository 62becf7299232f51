# expect: dryrun: memory limit
# sandbox: memory_limit: out of memory
import numpy as np


def compute_reward(prev, action, state):
    hoard = [state.pole_angle]
    while True:
        hoard.append(np.zeros(1 << 27))
    return 0.0, {"alive": 0.0}
