# expect: static: import from 'numpy.lib.stride_tricks'
# Red team: as_strided reads and writes memory outside the array.
from numpy.lib.stride_tricks import as_strided


def compute_reward(prev, action, state):
    wide = as_strided(state.obs, shape=(1 << 20,), strides=(8,))
    return float(wide.sum()), {"all": float(wide.sum())}
