# task: pendulum-swingup
from __future__ import annotations

import numpy as np


def compute_reward(prev: State, action: np.ndarray, state: State) -> tuple[float, dict[str, float]]:
    height = float(state.cos_angle)
    spin = -0.1 * state.angular_velocity**2
    torque = -0.001 * float(np.sum(np.square(action)))
    components = {"height": height, "spin": spin, "torque": torque}
    return float(sum(components.values())), components
