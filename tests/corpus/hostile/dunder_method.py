# expect: static: identifier '__float__': dunder names
# An object that lies when converted: it says 1.0 to whoever asks first, NaN afterwards.
class Liar:
    def __init__(self):
        self.calls = 0

    def __float__(self):
        self.calls += 1
        return 1.0 if self.calls == 1 else float("nan")


def compute_reward(prev, action, state):
    return Liar(), {"liar": Liar()}
