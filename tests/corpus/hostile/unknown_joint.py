# expect: static: joint_angle has no entry 'knee_joint'
# task: hopper-forward
def compute_reward(prev, action, state):
    bend = -abs(state.joint_angle["knee_joint"])
    return state.x_velocity + bend, {"forward": state.x_velocity, "bend": bend}
