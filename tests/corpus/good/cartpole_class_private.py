# task: cartpole-balance
# A class with private attributes and a __main__ block, as a model writes a module.
import math


class BalanceReward:
    def __init__(self, angle_scale: float = 0.1, centre_weight: float = 0.2) -> None:
        self._angle_scale = angle_scale
        self._centre_weight = centre_weight

    def _upright(self, angle: float) -> float:
        return math.exp(-((angle / self._angle_scale) ** 2))

    def terms(self, prev, state) -> dict[str, float]:
        return {
            "upright": self._upright(state.pole_angle),
            "centre": -self._centre_weight * abs(state.cart_position),
            "settle": -0.05 * abs(state.pole_angle - prev.pole_angle),
        }


_REWARD = BalanceReward()


def compute_reward(prev, action, state):
    components = _REWARD.terms(prev, state)
    return sum(components.values()), components


if __name__ == "__main__":
    print("BalanceReward: run through autoreward")
