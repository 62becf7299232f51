# expect: static: a string naming a dunder
def compute_reward(prev, action, state):
    leaked = "{0.__class__.__init__.__globals__}".format(state)
    return float(len(leaked)), {"leak": float(len(leaked))}
