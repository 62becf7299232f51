# Example task (MiniGrid-Unlock-v0, 7 discrete actions): pick up the key, then unlock and open the door.
def compute_reward(prev, action, state):
    # Success only counts at the end, so every sub-goal pays once, as the difference of a potential between
    # prev and state: picking the key up earns +1 (dropping it again costs -1, so there is no loop to exploit),
    # and each step closer to the current target earns a little.
    def potential(state):
        has_key = state.carrying["key"]
        target = state.distance["door"] if has_key > 0 else state.distance["key"]
        return 1.0 * has_key + 2.0 * state.doors_open - 0.1 * max(target, 0.0)

    components = {
        "progress": 10.0 * (potential(state) - potential(prev)),
        "time": -0.01,  # a discrete action has no size to penalise: a small cost per step asks for speed
    }
    return float(sum(components.values())), components
