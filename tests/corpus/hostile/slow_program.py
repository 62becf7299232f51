# expect: dryrun: ms per call
def compute_reward(prev, action, state):
    total = 0.0
    for i in range(60_000):
        total += (state.pole_angle * i) % 1.0
    total = total * 1e-9 - abs(state.pole_angle)
    return total, {"upright": total}
