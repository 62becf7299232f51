# expect: static: 'type' is not allowed
# Red team: type() with three arguments makes a class whose dunders no definition rule sees.
def compute_reward(prev, action, state):
    dunder = "_" * 2
    hooked = type("Hooked", (), {dunder + "float" + dunder: lambda self: 1.0})
    return float(hooked()), {"one": 1.0}
