# Example task (Pusher-v5, 7 joint torques in [-2, 2]): push the puck (object) 0.2 m towards +y from its start.
import numpy as np


def compute_reward(prev, action, state):
    # Two stages: bring the fingertip to the puck, then move the puck. Both are paid as potential differences
    # (distance before minus distance after), so standing still earns nothing.
    def reach(s):
        return float(np.linalg.norm(s.body_pos["tips_arm"] - s.body_pos["object"]))

    components = {
        "approach": 5.0 * (reach(prev) - reach(state)),
        "push": 20.0 * (state.body_pos["object"][1] - prev.body_pos["object"][1]),
        "touching": 0.1 if reach(state) < 0.05 else 0.0,
        "control_cost": -0.01 * float(np.sum(np.square(action))),
    }
    return float(sum(components.values())), components
