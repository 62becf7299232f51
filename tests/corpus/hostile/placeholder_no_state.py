# expect: static: never reads state or prev
# The skeleton's placeholder copied verbatim: a control cost and a constant, no State field at all.
import numpy as np


def compute_reward(prev, action, state):
    components = {"control": -0.1 * float(np.sum(np.square(action))), "alive": 1.0}
    return float(sum(components.values())), components
