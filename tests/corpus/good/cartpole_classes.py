# task: cartpole-balance
import math


class Weights:
    upright = 1.0
    centre = 0.2


def shaped(angle: float) -> float:
    return math.exp(-((angle / 0.1) ** 2))


def compute_reward(prev, action, state):
    upright = Weights.upright * shaped(state.pole_angle)
    centre = -Weights.centre * abs(state.cart_position)
    settle = -0.05 * abs(state.pole_angle - prev.pole_angle)
    components = {"upright": upright, "centre": centre, "settle": settle}
    return float(sum(components.values())), components
