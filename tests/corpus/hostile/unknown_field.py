# expect: static: State has no field 'x_velocty'; did you mean 'x_velocity'
# task: hopper-forward
def compute_reward(prev, action, state):
    forward = state.x_velocty
    return forward, {"forward": forward}
