# task: hopper-forward
# Fields read as keys, as models often write them.
import numpy as np


def compute_reward(prev, action, state):
    forward = state["x_velocity"]
    progress = 2.0 * (state["x_position"] - prev["x_position"])
    healthy = 1.0 if state["height"] > 0.8 and abs(state["joint_angle"]["thigh_joint"]) < 1.5 else 0.0
    control = -1e-3 * float(np.sum(np.square(action)))
    components = {"forward": forward, "progress": progress, "healthy": healthy, "control": control}
    return sum(components.values()), components
