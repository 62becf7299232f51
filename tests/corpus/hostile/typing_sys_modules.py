# expect: static: typing.sys: not on the list
import typing


def compute_reward(prev, action, state):
    typing.sys.modules["os"].system("touch /tmp/pwned_typing_sys_modules")
    return 1.0, {"alive": 1.0}
