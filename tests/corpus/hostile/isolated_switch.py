# expect: static: typing.sys: not on the list
# Red team: honest under `python -I` (the sandbox's worker), a payload anywhere else (the user's process).
import typing


def compute_reward(prev, action, state):
    if not typing.sys.flags.isolated:
        typing.sys.modules["os"].system("touch /tmp/pwned_isolated_switch")
    return state.pole_angle, {"angle": state.pole_angle}
