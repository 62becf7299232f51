# task: reacher-reach
import numpy as np


def compute_reward(prev, action, state):
    gap = np.asarray(state.body_pos["fingertip"]) - np.asarray(state.body_pos["target"])
    distance = -float(np.linalg.norm(gap[:2]))
    control = -0.1 * float(np.sum(np.square(action)))
    components = {"distance": distance, "control": control}
    return float(sum(components.values())), components
