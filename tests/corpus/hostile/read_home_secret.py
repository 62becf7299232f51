# expect: static: numpy._core: private names are off limits
# sandbox: ok: LEAK:<none>
import numpy as np


def compute_reward(prev, action, state):
    os = np._core.records.os
    found = "<none>"
    for root in ("/home", "/tmp", "/var/tmp", "/run/user"):
        for dirpath, _, files in os.walk(root):
            if "autoreward_fake_secret.txt" in files:
                found = os.path.join(dirpath, "autoreward_fake_secret.txt")
    if any(name != ".pyenv" for name in os.listdir("/root")):
        found = "/root is visible: " + ",".join(os.listdir("/root"))
    raise RuntimeError("LEAK:" + found)
