# expect: dryrun: ValueError
# Escape sequences in an exception message: clear the screen, retitle the terminal, plant a hyperlink.
def compute_reward(prev, action, state):
    if state.pole_angle > -10.0:
        raise ValueError("\x1b[2J\x1b]0;owned\x07\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\ \x9b31mred")
    return state.pole_angle, {"angle": state.pole_angle}
