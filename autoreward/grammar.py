"""The llama.cpp grammar that holds a small model to the skeleton its prompt shows.

Always: the skeleton's first lines and its return line, nothing around them. Where the skeleton writes a
``potential`` (sparse tasks), also that function line for line, the model writing only what replaces each ``...``:
a small model otherwise renames the staged ``distance`` per branch (``distance_key``, ``distance_door``), sums the
names and reads one no branch assigned, or drops the branches the stages need. A staged potential's ``reached``
keeps the card's flags and leaves the model their weights: free, it wrote ``0.0``, dropped the later flags or added
distances, which the Critic then rejected (most of DoorKey-8x8's rejected answers)."""

from __future__ import annotations

from typing import NamedTuple

HOLE = "..."
COMMENT = "  #"
POTENTIAL = "def potential(state):"


class SkeletonLine(NamedTuple):
    """One line of the skeleton's potential, cut at each ``...``: ``text`` is kept before the first; a hole that
    fixed text follows (``... * state.doors_open``) takes a weight, one number; the rest of the line after the last
    hole (an expression where nothing fixed follows, else a comment or further terms) is the model's."""

    text: str
    weighted: tuple[str, ...] = ()  # the fixed text after each weight hole
    open_end: bool = False  # the line ends in an expression hole

    @property
    def hole(self) -> bool:
        return self.open_end or bool(self.weighted)

    @property
    def continuation(self) -> str:
        """What starts a further line of a long filled-in expression: deeper than the line itself, where Python
        takes only the rest of an open expression (a statement written there is a syntax error)."""
        return "\n" + " " * (len(self.text) - len(self.text.lstrip()) + 4)


def _line(line: str) -> SkeletonLine:
    text, *rest = line.split(HOLE)
    if not rest:
        return SkeletonLine(text)
    tail = rest[-1].split(COMMENT)[0].rstrip()  # what the skeleton keeps after the last hole
    if not tail:
        return SkeletonLine(text, tuple(rest[:-1]), open_end=True)
    return SkeletonLine(text, (*rest[:-1], tail))


def potential_lines(skeleton: str) -> list[SkeletonLine]:
    """The skeleton's ``potential`` function, line by line; empty where the skeleton has none, or only ``return
    ...``: a structure of one line holds nothing in place, and the model may compute it in steps."""
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
    return [_line(line) for line in [head, *body]]
