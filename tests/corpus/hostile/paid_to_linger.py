# expect: dryrun: learns never to finish
# task: acrobot-swingup
# A height paid on every step where the goal (the tip above the bar) ends the episode: such programs trained to hold
# the tip down for all 500 steps. Acrobot never stands still, so the lingering check, not the waiting one, speaks.
def compute_reward(prev, action, state):
    height = 10.0 - abs(state.tip_height - 1.0)
    return height, {"height": height}
