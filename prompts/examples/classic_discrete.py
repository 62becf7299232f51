# Example task (CartPole-v1, 2 discrete actions): keep the pole upright while moving the cart to x = +1.0 and
# holding it there.
def compute_reward(prev, action, state):
    # Falling ends the episode, so every step in a good state pays something positive: lasting is part of the task.
    # No cost per step (it would teach falling early) and no action cost (a discrete action has no size).
    components = {
        "upright": 1.0 - abs(state.pole_angle) / 0.21,  # 1 when vertical, 0 at the failure angle
        "approach": 5.0 * (abs(prev.cart_position - 1.0) - abs(state.cart_position - 1.0)),  # paid per step closer
        "at_target": 0.5 if abs(state.cart_position - 1.0) < 0.1 else 0.0,
    }
    return float(sum(components.values())), components
