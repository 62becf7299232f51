# expect: static: .format_map: not an attribute a reward program may read
# Red team: str.format_map traverses attributes of the mapping's values.
def compute_reward(prev, action, state):
    dunder = "_" * 2
    leaked = ("{s." + dunder + "class" + dunder + "}").format_map({"s": state})
    return float(len(leaked)), {"leak": float(len(leaked))}
