# expect: dryrun: do not sum to the total
def compute_reward(prev, action, state):
    upright = 1.0 - abs(state.pole_angle)
    centre = -0.1 * abs(state.cart_position)
    return upright + centre + 1.0, {"upright": upright, "centre": centre}
