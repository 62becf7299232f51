# expect: static: a string annotation
# Red team: a string annotation is code that any annotation reader evaluates.
def compute_reward(prev, action, state: "open('/tmp/pwned_string_annotation', 'w')"):
    return state.pole_angle, {"angle": state.pole_angle}
