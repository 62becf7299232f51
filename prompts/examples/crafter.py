# Example task (Crafter-v1, 17 discrete actions): find a cow and eat it (hit it with `do` until it is eaten).
def compute_reward(prev, action, state):
    # Success is sparse: pay for each step towards the nearest cow (a potential difference; -1 means none in
    # view, so only steps with a cow in view before and after count), for facing it, and for eating.
    both_see = prev.nearest["cow"] >= 0 and state.nearest["cow"] >= 0
    components = {
        "approach": 0.1 * (prev.nearest["cow"] - state.nearest["cow"]) if both_see else 0.0,
        "facing": 0.05 * (state.front["cow"] - prev.front["cow"]),
        "ate": 1.0 * (state.achievements["eat_cow"] - prev.achievements["eat_cow"]),
    }
    return float(sum(components.values())), components
