# task: halfcheetah-forward
import numpy as np


def compute_reward(prev, action, state):
    forward = state.x_velocity
    control = -0.1 * float(np.sum(np.square(action)))
    flip = -0.5 * max(0.0, -state.upright)
    components = {"forward": forward, "control": control, "flip": flip}
    return float(sum(components.values())), components
