# expect: static: numpy.savetxt: not on the list
# sandbox: forbidden: read-only file system
import numpy as np


def compute_reward(prev, action, state):
    np.savetxt("/tmp/pwned_numpy_savetxt", state.obs)
    return 1.0, {"alive": 1.0}
