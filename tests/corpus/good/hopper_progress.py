# task: hopper-forward
import math

import numpy as np


def compute_reward(prev, action, state):
    progress = (state.x_position - prev.x_position) / 0.008
    upright = 0.5 * max(0.0, state.upright)
    foot_down = 0.1 * state.contact["foot"]
    effort = -1e-3 * float(np.dot(action, action))
    tilt = -0.1 * math.tanh(abs(state.angular_velocity[1]))
    components = {"progress": progress, "upright": upright, "foot_down": foot_down, "effort": effort, "tilt": tilt}
    return float(sum(components.values())), components
