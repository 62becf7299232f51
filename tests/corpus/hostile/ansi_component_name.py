# expect: dryrun: is not a Python identifier
def compute_reward(prev, action, state):
    value = state.pole_angle
    return value, {"\x1b]0;owned\x07\x1b[31mred": value}
