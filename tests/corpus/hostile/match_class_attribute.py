# expect: static: Match is not allowed
# Red team: a class pattern reads attributes by keyword name.
def compute_reward(prev, action, state):
    match (x for x in [1]):
        case object(gi_frame=frame):
            frame.f_globals
    return state.pole_angle, {"angle": state.pole_angle}
