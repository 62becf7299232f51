"""Size of the environment description the LLM sees, per catalog task, in tokens (o200k_base).

Run: python bench/description_sizes.py   (last lines: `<task>: <tokens>`, then `max_tokens` and `mean_tokens`)
"""

from __future__ import annotations

import statistics
import time

from autoreward.describe import describe
from autoreward.errors import TaskError
from autoreward.tasks import catalog


def main() -> None:
    sizes: dict[str, int] = {}
    seconds: dict[str, float] = {}
    for name, card in catalog().items():
        start = time.perf_counter()
        try:
            sizes[name] = describe(card).tokens()
        except TaskError as err:  # an optional suite that cannot run here (its extra, or ManiSkill's GPU)
            print(f"skipped {name}: {err}")
            continue
        seconds[name] = time.perf_counter() - start
    for name in sizes:
        print(f"{name}: {sizes[name]} tokens, described in {seconds[name]:.2f} s")
    print(f"max_tokens: {max(sizes.values())}")
    print(f"mean_tokens: {statistics.mean(sizes.values()):.0f}")


if __name__ == "__main__":
    main()
