# task: cartpole-balance
# Totals and components of any real scalar type: np.float32, bool, int, 0-d arrays.
import numpy as np


def compute_reward(prev, action, state):
    upright = np.float32(np.cos(state.pole_angle))
    centred = bool(abs(state.cart_position) < 1.0)
    steady = np.array(-0.1 * abs(state.pole_angular_velocity))
    alive = 1
    total = np.float32(upright + float(centred) + float(steady) + alive)
    return total, {"upright": upright, "centred": centred, "steady": steady, "alive": alive}
