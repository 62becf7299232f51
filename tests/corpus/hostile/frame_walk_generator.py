# expect: static: .gi_frame: not an attribute a reward program may read
# A generator's frame leads to the caller's frames and their globals (the checker's probe, the event channel).
def _probe():
    yield 1


def compute_reward(prev, action, state):
    gen = _probe()
    frame = gen.gi_frame.f_back
    while frame is not None:
        frame.f_globals.get("findings", []).clear()
        frame = frame.f_back
    return float("nan"), {"forged": float("nan")}
