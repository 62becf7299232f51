# expect: static: .cr_frame: not an attribute a reward program may read
async def _noop():
    return 0


def compute_reward(prev, action, state):
    coro = _noop()
    builtins_seen = coro.cr_frame.f_builtins
    coro.close()
    return float(len(builtins_seen)) * state.pole_angle, {"x": float(len(builtins_seen)) * state.pole_angle}
