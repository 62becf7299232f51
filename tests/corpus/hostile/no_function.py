# expect: static: defines no top-level function compute_reward
def reward(prev, action, state):
    return 1.0, {"alive": 1.0}
