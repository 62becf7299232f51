# runtime: files named like the parent's own in its scratch (files where the assessment's and the video's
# folders go): the candidate trains and nothing raises in the parent
import os

import numpy as np

home = os.environ["HOME"]
with open(os.path.join(home, "assessment"), "w") as fh:
    fh.write("a file where the parent makes a folder")
with open(os.path.join(home, "video"), "w") as fh:
    fh.write("a file where the parent makes a folder")


def compute_reward(prev, action, state):
    upright = 1.0 - 4.0 * float(np.abs(state.pole_angle))
    return upright, {"upright": upright}
