# expect: dryrun: RecursionError
def deeper(x):
    return deeper(x + 1.0)


def compute_reward(prev, action, state):
    value = deeper(state.pole_angle)
    return value, {"value": value}
