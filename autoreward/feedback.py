"""What a revision prompt knows about earlier iterations: typed, so the Analyzer and the preference step can
fill it without knowing the template."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ProgramResult(BaseModel):
    """A trained program worth showing again: its source, its true fitness and what training showed."""

    label: str  # how the prompt names it, e.g. "iteration 1, candidate 3"
    source: str
    fitness: float | None = None
    success: bool | None = None
    analysis: str = ""  # the Analyzer's text for this program (component statistics, failure cause)
    warnings: list[str] = Field(default_factory=list)  # the Critic's warnings (e.g. the dry run's direction check)


class RejectedProgram(BaseModel):
    """A candidate the Critic refused, and why (one line per reason)."""

    label: str
    reasons: list[str]


class PreferenceRanking(BaseModel):
    """Policies ranked best first by a person or by the synthetic oracle; labels match ProgramResult's."""

    ranking: list[str]
    by: Literal["human", "synthetic"] = "human"
    note: str = ""


class Feedback(BaseModel):
    """Everything the next design sees; any part may be empty."""

    iteration: int = Field(ge=0)  # the iteration this feedback describes
    best: list[ProgramResult] = Field(default_factory=list)
    analysis: str = ""  # the Analyzer's report on the whole iteration
    rejected: list[RejectedProgram] = Field(default_factory=list)
    pruned: list[RejectedProgram] = Field(default_factory=list)  # cut by successive halving: trailed its peers
    preference: PreferenceRanking | None = None
    max_rejected: int = Field(default=8, ge=0)  # rejections shown in the prompt (the count is always shown)
