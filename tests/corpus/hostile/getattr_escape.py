# expect: static: 'getattr' is not allowed
import numpy as np


def compute_reward(prev, action, state):
    records = getattr(np, "_co" + "re").records
    getattr(records, "o" + "s").system("touch /tmp/pwned_getattr_escape")
    return 1.0, {"alive": 1.0}
