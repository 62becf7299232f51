# expect: dryrun: exceeds 1e+06
# Finite but huge: PPO's value loss diverges to NaN on rewards like this.
def compute_reward(prev, action, state):
    value = 1e9 * (1.0 + abs(state.pole_angle))
    return value, {"huge": value}
