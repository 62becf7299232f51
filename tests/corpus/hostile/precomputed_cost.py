# expect: dryrun: took
# All its cost at load time, so that each call is cheap: the total (load and calls) is over the budget.
import math

TABLE_SUM = sum(math.sin(i) for i in range(15_000_000))


def compute_reward(prev, action, state):
    total = -abs(state.pole_angle) + 0.0 * TABLE_SUM
    return total, {"upright": total}
