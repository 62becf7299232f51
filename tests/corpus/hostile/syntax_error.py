# expect: static: does not parse
def compute_reward(prev, action, state)
    return 1.0, {"alive": 1.0}
