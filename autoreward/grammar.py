"""The llama.cpp grammar that holds a small model to the skeleton its prompt shows.

Always: the skeleton's first lines and its return line, nothing around them. Where the skeleton writes a
``potential`` (sparse tasks), also that function line for line, the model writing only what replaces each ``...``:
a small model otherwise renames the staged ``distance`` per branch (``distance_key``, ``distance_door``), sums the
names and reads one no branch assigned, or drops the branches the stages need."""

from __future__ import annotations

from typing import NamedTuple

HOLE = "..."
POTENTIAL = "def potential(state):"


class SkeletonLine(NamedTuple):
    """One line of the skeleton's potential: the text kept, and whether the model fills the rest of the line."""

    text: str
    hole: bool

    @property
    def continuation(self) -> str:
        """What starts a further line of a long filled-in expression: deeper than the line itself, where Python
        takes only the rest of an open expression (a statement written there is a syntax error)."""
        return "\n" + " " * (len(self.text) - len(self.text.lstrip()) + 4)


def potential_lines(skeleton: str) -> list[SkeletonLine]:
    """The skeleton's ``potential`` function, cut at each ``...`` (what follows it, a comment, is the model's to
    write); empty where the skeleton has none, or only ``return ...``: a structure of one line holds nothing in
    place, and the model may compute it in steps."""
    lines = skeleton.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == POTENTIAL]
    if not starts:
        return []
    head = lines[starts[0]]
    indent = len(head) - len(head.lstrip()) + 1
    body = []
    for line in lines[starts[0] + 1 :]:
        if len(line) - len(line.lstrip()) < indent or not line.strip():
            break
        body.append(line)
    if len(body) < 2:
        return []
    return [SkeletonLine(line.split(HOLE)[0] if HOLE in line else line, HOLE in line) for line in [head, *body]]
