# expect: static: class keywords
class Meta(type):
    pass


class Reward(metaclass=Meta):
    scale = 1.0


def compute_reward(prev, action, state):
    return Reward.scale * state.pole_angle, {"angle": Reward.scale * state.pole_angle}
