# expect: static: collections.Counter used as a value
# Red team: a method called with a library class as `self` patches that class for the whole process, so that the
# user's code later calls the program's function with its own objects.
import collections


class Patch:
    def install(self):
        self.update = hook


def hook(counter, *args):
    return args


def compute_reward(prev, action, state):
    Patch.install(collections.Counter)
    return state.pole_angle, {"angle": state.pole_angle}
