# expect: static: numpy.load: not on the list
import numpy as np


def compute_reward(prev, action, state):
    table = np.load("weights.npy", allow_pickle=True)
    return float(table[0]), {"table": float(table[0])}
