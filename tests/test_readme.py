"""CI is a newcomer's copy-paste: `.ci/run` runs the README's two blocks verbatim and installs nothing itself, the
test block's `dev` extra brings every CPU suite the tests cover and the docs builder, and the facts the README and
the docs quote (card counts, which commands are functions, links into the docs) hold for the code."""

from __future__ import annotations

import re
import subprocess
import tomllib
from collections import Counter
from pathlib import Path

import autoreward
from autoreward.cli import app
from autoreward.envs.suites import SUITES, suite_for
from autoreward.tasks import catalog

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


def test_readme_test_block_installs_dev_builds_docs_and_runs_both_suites() -> None:
    tests = _block_after("<!-- ci: tests -->")
    assert 'pip install -e ".[dev]"' in tests and "CMAKE_ARGS=" in tests  # llama.cpp builds as in the first block
    assert tests.strip().splitlines()[-1] == "mkdocs build --strict && pytest && pytest -m slow"


def test_dev_extra_brings_every_cpu_suite() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    dev = " ".join(extras["dev"])
    brought = set(re.findall(r"autoreward\[([^\]]+)\]", dev)[0].split(","))
    cpu_suites = {s.name for s in SUITES if not s.requirement}
    assert cpu_suites == {"metaworld", "robotics", "minigrid", "crafter"}
    assert cpu_suites | {"offline", "docs"} <= brought
    assert {"mkdocs", "mkdocs-material", "mkdocstrings", "mkdocstrings-python"} <= {
        re.split(r"[<>=!\[]", requirement)[0] for requirement in extras["docs"]
    }


def test_readme_stays_a_front_door() -> None:
    assert len(README.splitlines()) <= 200


def test_readme_links_into_the_docs_exist() -> None:
    links = re.findall(r"\]\((docs/[^)#]+)", README)
    assert links, "the README links into the docs"
    assert [link for link in links if not (ROOT / link).is_file()] == []


def test_readme_says_which_commands_are_functions() -> None:
    paragraph = next(p for p in README.split("\n\n") if "are also functions" in p)
    functions_part, cli_part = re.sub(r"\([^)]*\)", "", paragraph).split(";", 1)  # asides name no function
    functions, cli_only = re.findall(r"`(\w+)`", functions_part), re.findall(r"`(\w+)`", cli_part)
    commands = {command.name or command.callback.__name__ for command in app.registered_commands}
    assert functions and cli_only
    assert set(functions) <= set(autoreward.__all__)
    assert set(cli_only) <= commands and not set(cli_only) & set(autoreward.__all__)
    assert commands <= set(functions) | set(cli_only) | {"show"}  # `show` prints `load_run`, named there


def test_card_counts_the_docs_quote_match_the_catalog() -> None:
    """docs/task-cards.md's suite table and its count of cards without an extra, against envs/cards."""
    page = (ROOT / "docs" / "task-cards.md").read_text()
    per_suite = Counter(getattr(suite_for(card.env_id), "name", "core") for card in catalog().values())
    quoted = {name: int(count) for name, count in re.findall(r"^\| `(\w+)` \| (\d+) ", page, re.M)}
    assert quoted == {name: count for name, count in per_suite.items() if name != "core"}
    core = re.search(r"(\d+) cards need no extra", page)
    assert core and int(core.group(1)) == per_suite["core"]
    assert not re.search(r"\b\d+ (suite )?cards\b", README), "the README quotes no card count to drift"
