# expect: static: name '__import__': dunder names
# sandbox: forbidden: system call the sandbox forbids
def compute_reward(prev, action, state):
    __import__("os").execv("/bin/sh", ["sh", "-c", "touch /tmp/pwned_dunder_import"])
    return 1.0, {"alive": 1.0}
