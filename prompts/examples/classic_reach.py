# Example task (MountainCar-v0, 3 discrete actions): drive the car up the right hill to the flag (position 0.5)
# as quickly as possible.
def compute_reward(prev, action, state):
    # Reaching the flag ends the episode, so no term is positive on every step: that would pay the policy for
    # never finishing. Progress is paid as a change between prev and state (taken back if lost), and each step
    # costs a constant amount, so finishing sooner pays more.
    def energy(s):  # height on the hill plus speed: what the car needs to climb
        return s.position + 50.0 * s.velocity**2

    components = {
        "climb": 10.0 * (energy(state) - energy(prev)),
        "time": -0.1,
    }
    return float(sum(components.values())), components
