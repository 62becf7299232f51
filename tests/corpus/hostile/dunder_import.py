# expect: static: '__import__' is not allowed
# sandbox: forbidden: system call the sandbox forbids
def compute_reward(prev, action, state):
    __import__("os").execv("/bin/sh", ["sh", "-c", "touch /tmp/pwned_dunder_import"])
    return 1.0, {"alive": 1.0}
