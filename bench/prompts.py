"""Prompt sizes in tokens (o200k_base) per template for one task; last lines `name: value`.

python bench/prompts.py [TASK]
"""

from __future__ import annotations

import sys

from autoreward.describe import describe
from autoreward.feedback import Feedback, PreferenceRanking, ProgramResult, RejectedProgram
from autoreward.tasks import resolve_task
from autoreward.templates import render
from autoreward.tokens import count_tokens

# A typical revision: one program of ~25 lines with its analysis, three rejections, a ranking of four.
PROGRAM = "\n".join(
    ["import numpy as np", "", "", "def compute_reward(prev, action, state):", "    components = {"]
    + [f'        "term_{i}": -0.01 * float(np.sum(np.square(action))) + float(state.x_velocity),' for i in range(18)]
    + ["    }", "    return float(sum(components.values())), components"]
)


def main(task: str = "hopper-forward") -> None:
    card = resolve_task(task)
    description = describe(card).render()
    feedback = Feedback(
        iteration=1,
        best=[
            ProgramResult(
                label="iteration 1, candidate 2",
                source=PROGRAM,
                fitness=1.84,
                success=False,
                analysis="\n".join(f"term_{i}: max 1.2 mean 0.4 min -0.3 (rising)" for i in range(18)),
            )
        ],
        analysis="Candidates lean forward and fall after about 120 steps; the alive bonus dominates.",
        rejected=[
            RejectedProgram(label=f"iteration 1, candidate {i}", reasons=["dryrun: returned an array"])
            for i in (3, 5, 6)
        ],
        preference=PreferenceRanking(ranking=[f"iteration 1, candidate {i}" for i in (2, 1, 4, 7)], by="synthetic"),
    )
    sizes = {
        "description.j2": count_tokens(description),
        "system.j2": count_tokens(render("system.j2")),
        "design.j2": count_tokens(render("design.j2", card=card, description=description)),
        "revise.j2 (1 program, 3 rejections, ranking)": count_tokens(
            render("revise.j2", card=card, description=description, feedback=feedback)
        ),
        "review.j2 (25-line program)": count_tokens(
            render("review.j2", card=card, description=description, source=PROGRAM)
        ),
    }
    sizes["first design call (system + design)"] = sizes["system.j2"] + sizes["design.j2"]
    print(f"prompt tokens for {task} (o200k_base; design/revise/review include the description)")
    for name, value in sizes.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main(*sys.argv[1:])
