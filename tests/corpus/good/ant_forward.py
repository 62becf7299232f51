# task: ant-forward
import numpy as np


def compute_reward(prev, action, state):
    forward = state.x_velocity
    straight = -0.1 * abs(state.y_velocity)
    healthy = 1.0 if 0.2 < state.height < 1.0 else 0.0
    control = -0.5 * float(np.mean(np.square(action)))
    components = {"forward": forward, "straight": straight, "healthy": healthy, "control": control}
    return float(sum(components.values())), components
