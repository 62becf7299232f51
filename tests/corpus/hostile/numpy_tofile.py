# expect: static: .tofile: not an attribute a reward program may read
# sandbox: forbidden: read-only file system
import numpy as np


def compute_reward(prev, action, state):
    np.asarray(state.obs).tofile("/root/pwned_numpy_tofile")
    return 1.0, {"alive": 1.0}
