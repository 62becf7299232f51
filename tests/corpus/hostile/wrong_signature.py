# expect: static: the contract is compute_reward(prev, action, state)
def compute_reward(state):
    return 1.0, {"alive": 1.0}
