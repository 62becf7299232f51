# expect: static: 'SystemExit' is not allowed
def compute_reward(prev, action, state):
    if state.cart_velocity > 0.0:
        raise SystemExit(0)
    upright = 1.0 - abs(state.pole_angle)
    return upright, {"upright": upright}
