# task: mountaincar-reach
def compute_reward(prev, action, state):
    energy = 10.0 * abs(state.velocity) + 0.1 * (state.position + 0.5)
    goal = 10.0 if state.position >= 0.45 else 0.0
    components = {"energy": energy, "goal": goal}
    return float(sum(components.values())), components
