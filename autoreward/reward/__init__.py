"""The reward program's one home: its text (parse, load, line mapping) and its output contract.

The Critic, training, the sandbox worker and the export all use these; nothing else knows the filename
``<reward>`` or converts what ``compute_reward`` returns.
"""

from autoreward.reward import allowlist
from autoreward.reward.contract import ContractError, bad_name, checked, describe, to_numbers, to_scalar, value_problem
from autoreward.reward.program import (
    FILENAME,
    MAX_SOURCE_CHARS,
    RewardProgramError,
    error_line,
    load_reward,
    locate_nonfinite,
    names_read,
    parse_program,
    program_line,
)

__all__ = [
    "FILENAME",
    "MAX_SOURCE_CHARS",
    "ContractError",
    "RewardProgramError",
    "allowlist",
    "bad_name",
    "checked",
    "describe",
    "error_line",
    "load_reward",
    "locate_nonfinite",
    "names_read",
    "parse_program",
    "program_line",
    "to_numbers",
    "to_scalar",
    "value_problem",
]
