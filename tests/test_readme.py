"""CI is a newcomer's copy-paste: `.ci/run` runs the README's two blocks verbatim and installs nothing itself, and
the test block's `dev` extra brings every CPU suite the tests cover."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

from autoreward.envs.suites import SUITES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
CI = (ROOT / ".ci" / "run").read_text()


def _block_after(marker: str) -> str:
    """The first fenced block after ``marker`` in the README, as a reader copies it."""
    rest = README[README.index(marker) + len(marker) :]
    match = re.search(r"^```\w*\n(.*?)^```", rest, re.S | re.M)
    assert match, f"no fenced block after {marker!r}"
    return match.group(1)


def _ci_extracts(variable: str) -> str:
    """What `.ci/run`'s own extraction line for ``variable`` yields, run by bash on the README."""
    line = next(line for line in CI.splitlines() if line.startswith(f"{variable}=$(awk"))
    command = line[len(variable) + 3 : -1]  # the awk command inside $( )
    return subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def test_ci_runs_exactly_the_readme_blocks() -> None:
    setup, tests = _block_after("## Set up and run"), _block_after("<!-- ci: tests -->")
    assert _ci_extracts("setup") == setup
    assert _ci_extracts("tests") == tests
    assert re.search(r'printf .*"\$setup" "\$start" "\$tests"', CI), "CI writes both blocks into the script it runs"
    assert 'bash -euo pipefail "$script"' in CI


def test_ci_installs_nothing_the_readme_lacks() -> None:
    commands = [line.strip() for line in CI.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert not [c for c in commands if re.search(r"\bpip\b|apt-get install|-m venv|ensure_model", c)]


def test_readme_test_block_installs_dev_and_runs_both_suites() -> None:
    tests = _block_after("<!-- ci: tests -->")
    assert 'pip install -e ".[dev]"' in tests and "CMAKE_ARGS=" in tests  # llama.cpp builds as in the first block
    assert tests.strip().splitlines()[-1] == "pytest && pytest -m slow"


def test_dev_extra_brings_every_cpu_suite() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    dev = " ".join(extras["dev"])
    brought = set(re.findall(r"autoreward\[([^\]]+)\]", dev)[0].split(","))
    cpu_suites = {s.name for s in SUITES if not s.requirement}
    assert cpu_suites == {"metaworld", "robotics", "minigrid", "crafter"}
    assert cpu_suites | {"offline"} <= brought
