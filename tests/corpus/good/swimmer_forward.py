# task: swimmer-forward
import numpy as np


def compute_reward(prev, action, state):
    forward = state.x_velocity
    control = -1e-4 * float(np.sum(np.square(action)))
    components = {"forward": forward, "control": control}
    return float(sum(components.values())), components
