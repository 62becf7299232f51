# expect: static: .__subclasses__: dunder attributes
# sandbox: forbidden: system call the sandbox forbids
def compute_reward(prev, action, state):
    for cls in ().__class__.__base__.__subclasses__():
        if cls.__name__ == "_wrap_close":
            cls.__init__.__globals__["system"]("touch /tmp/pwned_subclasses_escape")
    return 1.0, {"alive": 1.0}
