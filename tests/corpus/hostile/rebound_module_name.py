# expect: static: 'np' is bound by an import and again here
# Red team: a module's name rebound to another object, so that `np.<listed name>` reads that object's attribute.
import numpy as np


def compute_reward(prev, action, np):
    return float(np.compress), {"x": 0.0}
