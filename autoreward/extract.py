"""Find the reward program in an LLM's answer, whatever the wrapping: fences, prose, several blocks or none.

The result is either the program's source or a Reason (stage "extract") that the Designer stores with the
rejected candidate, so a garbage answer costs one sample, never the run.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass

from autoreward.critic.verdict import Reason
from autoreward.reward import RewardProgramError, parse_program

ENTRY = "compute_reward"
_PYTHON_TAGS = {"", "python", "python3", "py", "py3", "numpy"}
_FENCE = re.compile(r"^[ \t]*(?P<mark>`{3,}|~{3,})[ \t]*(?P<tag>[\w+.-]*)")
_DEFINES_ENTRY = re.compile(rf"^[ \t]*def[ \t]+{ENTRY}[ \t]*\(", re.MULTILINE)
_THINKING = re.compile(r"<think(?:ing)?>.*?</think(?:ing)?>", re.DOTALL | re.IGNORECASE)
_CODE_LINE = re.compile(
    r"^(\s+\S|\s*$|#|@|import\s|from\s+\S+\s+import\s|def\s|class\s|[A-Za-z_][\w.,\s\[\]]*\s*[-+*/]?=[^=]|[)\]}])"
)


@dataclass(frozen=True)
class _Block:
    tag: str
    code: str
    closed: bool


def _fenced_blocks(answer: str) -> list[_Block]:
    """Markdown code blocks; a block left open at the end of the answer is kept, marked unclosed."""
    blocks: list[_Block] = []
    lines = answer.splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        mark, tag = opening["mark"], opening["tag"].lower()
        body: list[str] = []
        i += 1
        while i < len(lines) and not _closes(lines[i], mark):
            body.append(lines[i])
            i += 1
        blocks.append(_Block(tag=tag, code="\n".join(body), closed=i < len(lines)))
        i += 1
    return blocks


def _closes(line: str, mark: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= len(mark) and set(stripped) == {mark[0]}


def _bare_code(answer: str) -> str | None:
    """The stretch of an unfenced answer that holds ``def compute_reward`` and the code around it."""
    lines = answer.splitlines()
    match = _DEFINES_ENTRY.search(answer)
    if match is None:
        return None
    at = answer.count("\n", 0, match.start())
    start = at
    while start > 0 and _CODE_LINE.match(lines[start - 1]):
        start -= 1
    end = at + 1
    while end < len(lines) and _CODE_LINE.match(lines[end]):
        end += 1
    for first in range(start, at + 1):  # prose that looked like code, before or after: drop it
        for stop in range(end, at, -1):
            if _parses(textwrap.dedent("\n".join(lines[first:stop]))):
                return "\n".join(lines[first:stop])
    return "\n".join(lines[at:end])


def _parses(code: str) -> bool:
    try:
        parse_program(code)
    except RewardProgramError:
        return False
    return True


def _pick(blocks: list[_Block]) -> _Block | None:
    """The last Python block that defines the entry point and parses, else the last one that defines it."""
    defining = [b for b in blocks if b.tag in _PYTHON_TAGS and _DEFINES_ENTRY.search(b.code)]
    defining = defining or [b for b in blocks if _DEFINES_ENTRY.search(b.code)]
    for block in reversed(defining):
        if _parses(textwrap.dedent(block.code)):
            return block
    return defining[-1] if defining else None


def _reject(message: str, line: int | None = None) -> Reason:
    return Reason(stage="extract", severity="error", message=message, line=line)


def _strip_demo_code(source: str, tree: ast.Module) -> str:
    """Drop top-level example usage (``if __name__ == ...``, bare calls like ``print(...)``): the program
    is imported, never run as a script, and such code would fail or slow the dry run."""
    lines = source.splitlines()
    drop: set[int] = set()
    for node in tree.body:
        is_main = (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name)
            and node.test.left.id == "__name__"
        )
        is_call = isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
        if is_main or is_call:
            drop.update(range(node.lineno - 1, (node.end_lineno or node.lineno)))
    kept = [line for i, line in enumerate(lines) if i not in drop]
    return "\n".join(kept).rstrip() + "\n"


def extract_program(answer: str | None, finish_reason: str | None = None) -> str | Reason:
    """The program's source, or why there is none. ``finish_reason="length"`` marks an answer cut off by
    the token limit, which turns a syntax error into a 'truncated' reason with the fix."""
    if answer is None or not answer.strip():
        return _reject("the LLM's answer was empty")
    final = _THINKING.sub("", answer)  # reasoning models draft inside <think>: the answer follows it
    answer = final if final.strip() else answer
    blocks = _fenced_blocks(answer)
    block = _pick(blocks)
    if block is not None:
        code, closed = block.code, block.closed
    else:
        code, closed = _bare_code(answer), True
        if code is None:
            what = "its code blocks" if blocks else "the answer (no code block)"
            return _reject(f"no `def {ENTRY}(prev, action, state)` in {what}")
    source = textwrap.dedent(code).strip("\n") + "\n"
    truncated = finish_reason == "length" or not closed
    if finish_reason == "length" and not closed:  # cut mid-block: even code that parses is incomplete
        return _reject("the answer was cut off by the token limit inside the program (truncated); raise max_tokens")
    try:
        tree = parse_program(source)
    except RewardProgramError as err:
        if truncated:
            return _reject("the answer was cut off before the program ended (truncated); raise max_tokens", err.line)
        return _reject(err.reason.replace("the program does not parse: ", "syntax error: "), err.line)
    if not any(isinstance(n, ast.FunctionDef) and n.name == ENTRY for n in tree.body):
        return _reject(f"`{ENTRY}` must be a top-level function, not nested in a class or another function")
    return _strip_demo_code(source, tree)
