# Example task (MiniGrid-Unlock-v0, 7 discrete actions): pick up the key, then unlock and open the door.


def compute_reward(prev, action, state):
    # Success only counts at the end, so progress pays as the difference of a potential between prev and state:
    # each sub-goal reached earns once (losing it again costs as much, so there is no loop to exploit), and each
    # step closer to the current target earns a little.
    def potential(state):
        reached = 1.0 * state.carrying["key"] + 2.0 * state.doors_open
        # one branch per stage, in order: the first sub-goal not reached yet is the target
        if state.carrying["key"] < 1:  # noqa: SIM108 (an if per stage extends to more stages)
            distance = state.distance["key"]
        else:
            distance = state.distance["door"]
        return reached - 0.1 * distance

    components = {
        "progress": 10.0 * (potential(state) - potential(prev)),
        "time": -0.01,  # a discrete action has no size to penalise: a small cost per step asks for speed
    }
    return float(sum(components.values())), components
