# task: hopper-forward
import numpy as np


def compute_reward(prev, action, state):
    forward = state.x_velocity
    healthy = 1.0 if 0.7 < state.height and abs(state.joint_angle["rooty"]) < 0.2 else 0.0
    control = -0.001 * float(np.sum(np.square(action)))
    components = {"forward": forward, "healthy": healthy, "control": control}
    return float(sum(components.values())), components
