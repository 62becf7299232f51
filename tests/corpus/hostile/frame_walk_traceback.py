# expect: static: .tb_frame: not an attribute a reward program may read
def compute_reward(prev, action, state):
    try:
        raise ValueError("look up the stack")
    except ValueError as err:
        tb = err.with_traceback(None)
        frame = tb.tb_frame
    return state.pole_angle, {"angle": state.pole_angle}
