# expect: dryrun: too slow or never returns
# sandbox: timeout: ran longer than
def compute_reward(prev, action, state):
    total = 0.0
    while True:
        total += state.pole_angle
    return total, {"angle": total}
