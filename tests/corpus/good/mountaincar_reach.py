# task: mountaincar-reach
# Reaching the flag ends the episode: progress is the change of the car's energy, never a level paid every step.
import numpy as np


def compute_reward(prev, action, state):
    def energy(s):
        return np.sin(3.0 * s.position) / 3.0 + 200.0 * s.velocity**2  # the car's energy, times 400

    components = {
        "energy": 10.0 * (energy(state) - energy(prev)),
        "goal": 10.0 if state.position >= 0.45 else 0.0,
        "time": -0.01,
    }
    return float(sum(components.values())), components
