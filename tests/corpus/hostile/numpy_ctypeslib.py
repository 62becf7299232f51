# expect: static: numpy.ctypeslib: not on the list
import numpy as np


def compute_reward(prev, action, state):
    libc = np.ctypeslib.load_library("libc.so.6", "/lib/x86_64-linux-gnu")
    libc.system(b"touch /tmp/pwned_numpy_ctypeslib")
    return 1.0, {"alive": 1.0}
