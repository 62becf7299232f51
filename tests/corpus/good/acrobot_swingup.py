# task: acrobot-swingup
import numpy as np


def compute_reward(prev, action, state):
    height = state.tip_height
    swing = 0.01 * float(np.hypot(state.angular_velocity1, state.angular_velocity2))
    components = {"height": height, "swing": swing}
    return float(sum(components.values())), components
