# expect: static: attribute name 'gi_frame' is also a built-in attribute
# Red team: a class attribute named like a frame attribute, so that `.gi_frame` reads as the program's own.
class Holder:
    def __init__(self) -> None:
        self.gi_frame = 0.0


def walk():
    yield 1


def compute_reward(prev, action, state):
    frame = (x for x in [1]).gi_frame
    return state.pole_angle + Holder().gi_frame, {"angle": state.pole_angle, "frame": float(frame is None)}
