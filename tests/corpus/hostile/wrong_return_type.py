# expect: dryrun: must return (total, components)
def compute_reward(prev, action, state):
    return 1.0 - abs(state.pole_angle)
