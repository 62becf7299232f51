# expect: static: 'open' is not allowed
# sandbox: forbidden: read-only file system
def compute_reward(prev, action, state):
    with open("/tmp/pwned_open_write", "w") as handle:
        handle.write("pwned")
    return 1.0, {"alive": 1.0}
