# expect: dryrun: ms per call (mean)
# Slow on one call in four: the median call is fast, the mean is not.
class Calls:
    count = 0


def compute_reward(prev, action, state):
    Calls.count += 1
    total = 0.0
    if Calls.count % 4 == 0:
        for i in range(10_000):
            total += (state.pole_angle * i) % 1.0
    total = total * 1e-9 - abs(state.pole_angle)
    return total, {"upright": total}
