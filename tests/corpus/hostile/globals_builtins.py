# expect: static: 'globals' is not allowed
def compute_reward(prev, action, state):
    opener = globals()["__builtins__"]["open"]
    opener("/tmp/pwned_globals_builtins", "w").write("pwned")
    return 1.0, {"alive": 1.0}
