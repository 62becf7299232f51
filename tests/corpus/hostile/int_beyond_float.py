# expect: dryrun: beyond the float range
# A Python int total past the float range: float() raises OverflowError, a clean contract rejection.
def compute_reward(prev, action, state):
    huge = 10**400 if state.pole_angle > -10.0 else 0
    return huge, {"huge": huge}
