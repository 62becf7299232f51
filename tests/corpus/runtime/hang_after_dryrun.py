# runtime: one reward call never returns, long after the dry run
CALLS = []


def compute_reward(prev, action, state):
    CALLS.append(1)
    while len(CALLS) >= 1000:
        pass
    upright = 1.0 - abs(state.pole_angle) / 0.21
    return upright, {"upright": upright}
