# expect: static: operator.attrgetter: not on the list
# Red team: operator.attrgetter looks attributes up by a string built at run time, past any literal-name check.
import operator


def compute_reward(prev, action, state):
    dunder = "_" * 2
    scope = operator.attrgetter(dunder + "globals" + dunder)(compute_reward)
    scope[dunder + "builtins" + dunder]["open"]("/tmp/pwned_attrgetter_globals", "w").write("x")
    return state.pole_angle, {"angle": state.pole_angle}
