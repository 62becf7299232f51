# expect: static: operator.attrgetter: not on the list
import operator


def compute_reward(prev, action, state):
    gen = (x for x in [state.pole_angle])
    back = operator.attrgetter("gi_frame")(gen)
    return state.pole_angle, {"angle": state.pole_angle, "seen": 0.0 * (back is None)}
