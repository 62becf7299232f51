# expect: static: 'from typing import get_type_hints'
# Red team: typing.get_type_hints evaluates a string annotation with eval.
from typing import get_type_hints


def hook(x: "open('/tmp/pwned_get_type_hints_eval', 'w').write('x')") -> None:
    return None


def compute_reward(prev, action, state):
    get_type_hints(hook)
    return state.pole_angle, {"angle": state.pole_angle}
