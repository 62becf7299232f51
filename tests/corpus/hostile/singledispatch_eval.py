# expect: static: functools.singledispatch: not on the list
# Red team: singledispatch.register reads the annotations of the function it registers, with eval.
import functools


@functools.singledispatch
def shape(x):
    return 0.0


def compute_reward(prev, action, state):
    return state.pole_angle, {"angle": state.pole_angle}
