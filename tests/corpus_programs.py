"""The reward-program corpus in tests/corpus: hostile/broken programs with the reason they must be rejected for,
and good ones that must be accepted. Shared by the tests and bench/critic.py.

Header comments, at the top of each file:
``# expect: <stage>: <substring>``  (hostile) the Critic rejects it at <stage> with a reason containing it;
``# sandbox: <status>: <substring>`` (optional) run straight in the sandbox, skipping the static stage, the
report has this status and mentions the substring: isolation holds without the static check;
``# dryrun: <substring>`` (optional) the dry run alone (static stage skipped) rejects it with a reason containing
it: attacks on the checks from inside the program's own process change no verdict;
``# task: <name>`` the catalog task (default cartpole-balance).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"
DEFAULT_TASK = "cartpole-balance"
_HEADER = re.compile(r"^# (expect|sandbox|dryrun|task): (.+)$")
# Where hostile programs try to leave a trace; each path gets the program's name appended.
TRACE_PREFIXES = ("/tmp/pwned_", "/root/pwned_", "/var/tmp/pwned_")
FAKE_SECRET_FILE = "autoreward_fake_secret.txt"


@dataclass(frozen=True)
class Program:
    name: str
    path: Path
    source: str
    task: str
    expect_stage: str | None = None
    expect_text: str | None = None
    sandbox_status: str | None = None
    sandbox_text: str | None = None
    dryrun_text: str | None = None

    def traces(self) -> list[Path]:
        """Files this program would have left outside its scratch directory if the sandbox failed."""
        return [p for p in (Path(prefix + self.name) for prefix in TRACE_PREFIXES) if p.exists()]


def _parse(path: Path) -> Program:
    source = path.read_text(encoding="utf-8")
    headers: dict[str, tuple[str, str]] = {}
    for line in source.splitlines():
        match = _HEADER.match(line)
        if not match:
            break
        key, value = match.groups()
        stage, _, text = value.partition(": ")
        headers[key] = (stage.strip(), text.strip())
    expect = headers.get("expect", (None, None))
    sandbox = headers.get("sandbox", (None, None))
    task = headers["task"][0] if "task" in headers else DEFAULT_TASK
    dryrun = (
        headers["dryrun"][0] + (": " + headers["dryrun"][1] if headers["dryrun"][1] else "")
        if "dryrun" in headers
        else None
    )
    return Program(path.stem, path, source, task, expect[0], expect[1], sandbox[0], sandbox[1], dryrun)


def hostile() -> list[Program]:
    return [_parse(p) for p in sorted((CORPUS / "hostile").glob("*.py"))]


def good() -> list[Program]:
    return [_parse(p) for p in sorted((CORPUS / "good").glob("*.py"))]
