# expect: static: .gi_frame: not an attribute a reward program may read
# dryrun: NaN or infinite
# Rewires every check it can reach in its own process (math.isfinite, np.isfinite, np.median, the job's own
# helpers) and fills in forged timings, then returns NaN.
import math

import numpy as np


def _caller():
    def inner():
        yield gen.gi_frame.f_back

    gen = inner()
    return next(gen)


def _rewire():
    math.isfinite = lambda value: True
    np.isfinite = lambda value: True
    np.median = lambda values, *a, **k: 0.0
    frame = _caller()
    while frame is not None:
        for scope in (frame.f_globals, frame.f_locals):
            if "value_problem" in scope:
                scope["value_problem"] = lambda total, components: None
            if "seconds" in scope and isinstance(scope["seconds"], list):
                scope["seconds"].extend([0.0] * 1000)
        frame = frame.f_back


def compute_reward(prev, action, state):
    _rewire()
    bad = float("nan") * state.pole_angle
    return bad, {"bad": bad}
