"""A sparse task's stages, typed: what ends each stage and what measures progress inside it.

A card's ``[[subgoals]]`` tables and a generated plan (``autoreward.plan``) are both lists of ``Subgoal``; the
skeleton, its grammar and the Critic's plan check read the same fields, never an English sentence. The older
string form (``'carrying["key"]: 0 -> 1 when ...'``) is converted by ``subgoal_from_text``, in one place.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

# A State field as a reward reads it after ``state.``: a name, or a mapping's entry (``distance["key"]``).
FIELD = re.compile(r'^[a-z_][a-z0-9_]*(\["[^"\]]+"\])?$')
_FLAG = re.compile(r"\b[01] -> [01]\b")
_ENTRY = re.compile(r'\b[a-z_]+\["[A-Za-z_]+"\]')  # a mapping's entry named in a sentence: distance["key"]


class Subgoal(BaseModel):
    """One stage of a sparse task. ``ends_when``: a flag field that changes once when the stage ends (``ends``:
    0 -> 1 ``rises``, 1 -> 0 ``falls``); ``progress``: a field that moves towards the stage's end inside it
    (``direction``: ``shrinks`` like a distance, ``grows`` like a count; None where unstated). A stage names
    either or both; the last stage of a task often has progress only (reaching its goal ends the episode)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ends_when: str | None = None
    ends: Literal["rises", "falls"] = "rises"
    progress: str | None = None
    direction: Literal["shrinks", "grows"] | None = None
    note: str = ""

    @field_validator("ends_when", "progress")
    @classmethod
    def _a_field(cls, name: str | None) -> str | None:
        if name is not None and not FIELD.match(name):
            raise ValueError(f'{name!r} is not a State field (a name, or a mapping\'s entry such as distance["key"])')
        return name

    @model_validator(mode="after")
    def _names_something(self) -> Subgoal:
        if self.ends_when is None and self.progress is None:
            raise ValueError("a sub-goal needs ends_when, progress or both")
        return self

    @property
    def head(self) -> str:
        """The field the stage is known by: what ends it, else what measures it."""
        return self.ends_when or self.progress or ""

    @property
    def text(self) -> str:
        """One line for the description: the field, then the card's note or what the typed fields say."""
        if self.note:
            return f"{self.head}: {self.note}"
        parts = []
        if self.ends_when:
            parts.append(f"{'0 -> 1' if self.ends == 'rises' else '1 -> 0'} when the stage ends")
        if self.progress and self.progress != self.head:
            parts.append(f"inside it {self.progress} {self.direction or 'changes'}")
        elif self.progress:
            parts.append(f"{self.direction or 'changes'} inside the stage")
        return f"{self.head}: {'; '.join(parts)}"


def subgoal_from_text(line: str) -> Subgoal:
    """The older string form, ``'field: what its change means'``, as a typed sub-goal: a line that says ``0 -> 1``
    (or ``1 -> 0``) is a flag that ends a stage, whose progress is the first other entry it mentions; any other line
    is a measure, which ``shrinks`` or ``grows`` where its text starts so. The text after the colon is the note."""
    field, _, rest = line.partition(":")
    field, rest = field.strip(), rest.strip()
    if _FLAG.search(line):
        mentioned = [m for m in _ENTRY.findall(rest) if m != field]
        ends = "falls" if "1 -> 0" in line else "rises"
        return Subgoal(ends_when=field, ends=ends, progress=mentioned[0] if mentioned else None, note=rest)
    direction = "grows" if rest.startswith("grows") else "shrinks" if rest.startswith("shrinks") else None
    return Subgoal(progress=field, direction=direction, note=rest)


def as_subgoals(items: Sequence[object]) -> list[object]:
    """A card's ``subgoals`` as typed entries: each string converted (``subgoal_from_text``), tables kept for
    validation."""
    return [subgoal_from_text(item) if isinstance(item, str) else item for item in items]
