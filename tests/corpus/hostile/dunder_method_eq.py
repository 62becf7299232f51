# expect: static: identifier '__eq__': dunder names
class Always:
    def __eq__(self, other):
        return True

    def __hash__(self):
        return 0


def compute_reward(prev, action, state):
    return state.pole_angle, {"angle": state.pole_angle}
