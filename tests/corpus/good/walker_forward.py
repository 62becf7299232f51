# task: walker-forward
import numpy as np


def compute_reward(prev, action, state):
    forward = state.x_velocity
    alive = 1.0 if 0.8 < state.height < 2.0 else 0.0
    feet = 0.05 * (state.contact["foot"] + state.contact["foot_left"])
    control = -0.001 * float(np.sum(np.square(action)))
    components = {"forward": forward, "alive": alive, "feet": feet, "control": control}
    return float(sum(components.values())), components
