# expect: static: 'eval' is not allowed
def compute_reward(prev, action, state):
    value = eval("1 + 1")
    return float(value), {"alive": float(value)}
