"""What a sandboxed job reports back: one typed value, whatever happened inside."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from autoreward.sanitize import clean, clean_data

Status = Literal[
    "ok",  # the job finished; its own findings are in ``result``
    "exception",  # the job (usually the program) raised; ``error`` says what and where
    "timeout",  # wall-time limit: the parent killed the worker
    "cpu_limit",  # RLIMIT_CPU: the kernel killed the worker
    "memory_limit",  # RLIMIT_AS: an allocation failed
    "output_limit",  # RLIMIT_FSIZE: the program wrote (or printed) too much
    "forbidden",  # a system call or file write the sandbox refuses (process, exec, network, write outside)
    "crashed",  # the worker died without a report (a signal, os._exit, a broken interpreter)
]


class ErrorInfo(BaseModel):
    """Why a job failed. ``line`` is the program's own line number when the program is to blame."""

    type: str
    message: str
    line: int | None = None
    traceback: str = ""

    @field_validator("type", "message", "traceback")
    @classmethod
    def _shown_safely(cls, text: str, info: Any) -> str:
        """The worker's words are the program's words: no escape sequences, bounded."""
        return clean(
            text, {"type": 100, "message": 2000, "traceback": 4000}[info.field_name], one_line=info.field_name == "type"
        )


class SandboxReport(BaseModel):
    """The outcome of one ``run_in_sandbox`` call."""

    model_config = ConfigDict(validate_assignment=True)  # the output tail is set after the report is made

    status: Status
    result: dict[str, Any] = Field(default_factory=dict)
    error: ErrorInfo | None = None
    seconds: float = 0.0
    isolation: str = ""
    output_tail: str = ""
    returncode: int | None = None

    @field_validator("output_tail")
    @classmethod
    def _tail_shown_safely(cls, text: str) -> str:
        return clean(text, 4000)

    @field_validator("result")
    @classmethod
    def _result_shown_safely(cls, result: dict[str, Any]) -> dict[str, Any]:
        return clean_data(result, limit=100_000)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def describe(self) -> str:
        """One line for a person or the Designer: what went wrong, and where in the program."""
        if self.error is None:
            return self.status
        where = f" (line {self.error.line})" if self.error.line else ""
        return f"{self.error.type}: {self.error.message}{where}"
