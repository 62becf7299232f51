# Example task (MountainCar-v0, 3 discrete actions): drive the car up the right hill to the flag at position 0.5.
import numpy as np


def compute_reward(prev, action, state):
    # The flag is out of reach at first: pay for the energy the car gains by rocking (a potential difference),
    # so each swing that climbs higher than the last one earns something.
    def energy(s):
        return 0.5 * s.velocity**2 + 0.0025 * np.sin(3.0 * s.position)

    components = {
        "energy_gain": 100.0 * (energy(state) - energy(prev)),
        "height_gain": 1.0 * (state.position - prev.position),
        "at_flag": 10.0 if state.position >= 0.5 else 0.0,
        "time": -0.01,  # a discrete action has no size to penalise: a small cost per step asks for speed
    }
    return float(sum(components.values())), components
