# expect: static: global/nonlocal state
calls = 0


def compute_reward(prev, action, state):
    global calls
    calls += 1
    return float(calls), {"calls": float(calls)}
