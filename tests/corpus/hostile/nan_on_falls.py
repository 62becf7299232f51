# expect: dryrun: NaN or infinite
# task: hopper-forward
import numpy as np


def compute_reward(prev, action, state):
    forward = state.x_velocity
    balance = float(np.log(state.height - 1.0))
    return forward + balance, {"forward": forward, "balance": balance}
