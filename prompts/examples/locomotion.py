# Example task (Ant-v5, 8 joint torques in [-1, 1]): walk sideways towards +y without flipping over.
import numpy as np


def compute_reward(prev, action, state):
    healthy = state.upright > 0.3 and 0.26 < state.height < 1.0
    components = {
        "sideways_speed": 1.0 * state.y_velocity,  # the task's direction, in m/s
        "drift": -0.5 * abs(state.x_velocity),  # moving along x is not the task
        "healthy": 1.0 if healthy else 0.0,  # falling ends the episode: pay for lasting, but less than moving
        "control_cost": -0.05 * float(np.sum(np.square(action))),
    }
    return float(sum(components.values())), components
