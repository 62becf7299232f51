# expect: dryrun: component 'penalty' must be a real scalar
import numpy as np


def compute_reward(prev, action, state):
    penalty = -np.square(state.obs)
    return float(penalty.sum()), {"penalty": penalty}
