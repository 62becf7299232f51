# task: cartpole-balance
import numpy as np


def compute_reward(prev, action, state):
    upright = 1.0 - abs(state.pole_angle) / 0.21
    centred = -0.1 * abs(state.cart_position)
    calm = -0.01 * float(np.square(state.pole_angular_velocity))
    components = {"upright": upright, "centred": centred, "calm": calm}
    return float(sum(components.values())), components
