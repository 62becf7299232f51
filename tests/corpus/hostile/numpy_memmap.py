# expect: static: numpy.memmap: not on the list
# sandbox: forbidden: read-only file system
import numpy as np


def compute_reward(prev, action, state):
    mapped = np.memmap("/var/tmp/pwned_numpy_memmap", dtype="float64", mode="w+", shape=(4,))
    mapped[:] = 1.0
    return 1.0, {"alive": 1.0}
