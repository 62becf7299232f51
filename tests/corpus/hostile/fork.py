# expect: static: may be imported
# sandbox: forbidden: system call the sandbox forbids
import os


def compute_reward(prev, action, state):
    pid = os.fork()
    if pid == 0:
        open("/tmp/pwned_fork", "w").write("child")
        os._exit(0)
    return 1.0, {"alive": 1.0}
