"""The Critic's typed output: accepted or not, and reasons the Designer can act on."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from autoreward.sanitize import plain

Stage = Literal["extract", "static", "dryrun", "review", "duplicate"]
MAX_REASON_CHARS = 600  # a reason is one line a person and the LLM read; program text in it is bounded
MAX_COMPONENT_NAMES = 64  # as many as one answer of the dry run may carry


class Reason(BaseModel):
    """One finding; ``line`` is the program's own line number where it applies."""

    stage: Stage
    severity: Literal["error", "warning"]
    message: str
    line: int | None = None

    @field_validator("message")
    @classmethod
    def _shown_safely(cls, message: str) -> str:
        """Program-influenced text (exception messages, names, LLM reviews): no escapes, no fences or special
        tokens (it reaches prompts), one bounded line."""
        return plain(message, MAX_REASON_CHARS, one_line=True)

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{self.stage}: {where}{self.message}"


class Verdict(BaseModel):
    """Accepted when no stage found an error; warnings travel with an accepted program."""

    reasons: list[Reason] = Field(default_factory=list)
    stages_run: list[Stage] = Field(default_factory=list)
    seconds: float = 0.0
    components: list[str] | None = Field(
        default=None,
        description="the identifier component names the dry run's answers carried: the only ones a training of "
        "this program may report (``autoreward.worker_report``); None: not recorded (no dry run, older records)",
    )

    behaviour: str | None = Field(
        default=None,
        max_length=64,
        description="a fingerprint of the numbers the program returned on the dry run's States (the checker's, "
        "``autoreward.critic.behaviour``): equal fingerprints in a run mark a duplicate; None: not recorded",
    )

    @field_validator("components")
    @classmethod
    def _bounded(cls, names: list[str] | None) -> list[str] | None:
        return None if names is None else sorted(set(names))[:MAX_COMPONENT_NAMES]

    @property
    def accepted(self) -> bool:
        return not any(r.severity == "error" for r in self.reasons)

    def __repr__(self) -> str:
        warnings = len(self.reasons) - len(self.errors)
        return (f"Verdict(accepted={self.accepted}, errors={len(self.errors)}, warnings={warnings}, "
                f"stages_run={self.stages_run})")  # fmt: skip

    @property
    def errors(self) -> list[Reason]:
        return [r for r in self.reasons if r.severity == "error"]
