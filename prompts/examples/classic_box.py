# Example task (Pendulum-v1, one torque in [-2, 2]): hold the pendulum horizontal, pointing right (angle pi/2).
import numpy as np


def compute_reward(prev, action, state):
    error = abs(state.angle - np.pi / 2)  # radians from the target angle
    components = {
        "near_target": float(np.exp(-2.0 * error)),  # 1 at the target, smooth everywhere
        "still": -0.05 * state.angular_velocity**2,
        "control_cost": -0.01 * float(np.sum(np.square(action))),  # continuous action: penalise effort
    }
    return float(sum(components.values())), components
