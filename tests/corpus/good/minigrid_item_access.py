# task: minigrid-doorkey-5x5
# MiniGrid fields read as keys: the faults of issue 14's first run, now meaning what the model meant.
def compute_reward(prev, action, state):
    to_key = prev["distance"]["key"] - state["distance"]["key"] if state["carrying"]["key"] < 1.0 else 0.0
    picked = state["carrying"]["key"] - prev["carrying"]["key"]
    opened = state["doors_open"] - prev["doors_open"]
    to_goal = prev["distance"]["goal"] - state["distance"]["goal"] if state["doors_open"] > 0 else 0.0
    components = {"to_key": 0.1 * to_key, "picked": picked, "opened": opened, "to_goal": 0.1 * to_goal}
    return sum(components.values()), components
