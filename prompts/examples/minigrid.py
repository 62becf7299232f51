# Example task (MiniGrid-UnlockPickup-v0, 7 discrete actions): pick up the key, unlock and open the door with it,
# then pick up the box in the next room (the agent carries one object at a time: it drops the key first).


def compute_reward(prev, action, state):
    # Success only counts at the end, so progress pays as the difference of a potential between prev and state:
    # each sub-goal reached earns once (losing it again costs as much, so there is no loop to exploit), and each
    # step closer to the current target earns a little.
    def potential(state):
        key_used = max(state.carrying["key"], state.doors_open)  # dropping the key after the door costs nothing
        reached = 1.0 * key_used + 2.0 * state.doors_open + 3.0 * state.carrying["box"]
        # one branch per stage, in order; a stage's flag (never a distance) says it is done, and the first stage
        # not done yet picks the target
        if key_used < 1:
            distance = state.distance["key"]
        elif state.doors_open < 1:
            distance = state.distance["door"]
        else:
            distance = state.distance["box"]
        return reached - 0.1 * distance

    components = {
        # discounted by PPO's gamma (0.99): an undiscounted difference pays for reaching a sub-goal and undoing it
        "progress": 10.0 * (0.99 * potential(state) - potential(prev)),
        "time": -0.01,  # a discrete action has no size to penalise: a small cost per step asks for speed
    }
    return float(sum(components.values())), components
