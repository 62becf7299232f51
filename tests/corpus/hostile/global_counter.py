# expect: static: Global is not allowed
calls = 0


def compute_reward(prev, action, state):
    global calls
    calls += 1
    return float(calls), {"calls": float(calls)}
