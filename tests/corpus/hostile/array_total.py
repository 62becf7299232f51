# expect: dryrun: the total must be a real scalar
import numpy as np


def compute_reward(prev, action, state):
    total = -np.abs(state.obs)
    return total, {"all": float(total.sum())}
