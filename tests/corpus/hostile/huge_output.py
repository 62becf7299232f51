# expect: static: 'print' is not allowed
# sandbox: output_limit: file-size limit
def compute_reward(prev, action, state):
    print("x" * 20_000_000)
    return state.pole_angle, {"angle": state.pole_angle}
