# expect: dryrun: ZeroDivisionError
def compute_reward(prev, action, state):
    ratio = state.cart_position / (state.cart_velocity - state.cart_velocity)
    return ratio, {"ratio": ratio}
