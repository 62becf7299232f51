# expect: static: assignment to math.isfinite
# dryrun: NaN or infinite
# Disables a checker that runs in the program's own process, then returns NaN.
import math

math.isfinite = lambda value: True


def compute_reward(prev, action, state):
    return float("nan") * state.pole_angle, {"angle": float("nan") * state.pole_angle}
