# expect: static: .format: not an attribute a reward program may read
# Red team: a format string, built so that no literal names a dunder, traverses attributes by name.
def compute_reward(prev, action, state):
    dunder = "_" * 2
    spec = "{0." + dunder + "class" + dunder + "." + dunder + "init" + dunder + "." + dunder + "globals" + dunder + "}"
    leaked = spec.format(state)
    return float(len(leaked)), {"leak": float(len(leaked))}
