# task: cartpole-balance
def compute_reward(prev: State, action, state: State) -> tuple[float, dict[str, float]]:
    upright = 1.0 - abs(state.pole_angle)
    return upright, {"upright": upright}
