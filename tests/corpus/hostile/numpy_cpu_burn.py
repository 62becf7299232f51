# expect: dryrun: too slow or never returns
# sandbox: cpu_limit: CPU time
import numpy as np


def compute_reward(prev, action, state):
    a = np.full((600, 600), 1e-4 + 0.0 * state.pole_angle)
    # One long call into C (a naive O(n^4) contraction): Python cannot check signals until it returns.
    burn = np.einsum("ij,jk,kl->il", a, a, a, optimize=False)
    return float(burn[0, 0]), {"burn": float(burn[0, 0])}
