"""The data flows one way: no module imports one further up the chain, and no import hides a cycle.

The chain (docs/architecture.md): describe -> design -> critic -> training -> analysis -> loop -> cli/web, over a
foundation every stage may use. The test reads the sources with ``ast`` (nothing is imported), so a lazy import
inside a function counts as much as one at the top. An import under ``if TYPE_CHECKING:`` names a type for type
checkers only and never runs, so it is exempt (``feedback.py`` reads the store's rows without importing it).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# the package's folders, as pyproject's package-dir maps them
FOLDERS = {"autoreward": ROOT / "autoreward", "autoreward.envs": ROOT / "envs", "autoreward.sandbox": ROOT / "sandbox"}

# module prefix -> layer; the longest prefix wins. A module may import its own layer and any lower one.
LAYERS: dict[str, int] = {
    # 0: the foundation: errors, shared types, settings, task cards, envs and their States, the reward program's
    # one home, the sandbox, templates, text sanitising
    "autoreward": 0,
    "autoreward.errors": 0,
    "autoreward.types": 0,
    "autoreward.machine": 0,
    "autoreward._layout": 0,  # maps envs/, sandbox/ and prompts/ into a source tree
    "autoreward.critic.verdict": 0,  # the Critic's typed output: a value the extraction makes too, read by all after
    "autoreward.config": 0,
    "autoreward.runconfig": 0,
    "autoreward.tokens": 0,
    "autoreward.templates": 0,
    "autoreward.sanitize": 0,
    "autoreward.tasks": 0,
    "autoreward.subgoals": 0,  # a sparse task's typed stages: a card's hints and a plan alike
    "autoreward.envs": 0,
    "autoreward.reward": 0,
    "autoreward.sandbox": 0,
    "autoreward.export": 0,
    "autoreward.normalise": 0,  # a program's canonical text, to find duplicates
    "autoreward.intervals": 0,  # confidence intervals (rliable): numbers in, numbers out
    # 1: describe
    "autoreward.describe": 1,
    # 2: design (the LLM, the Designer, what a revision prompt knows)
    "autoreward.llm": 2,
    "autoreward.local_llm": 2,
    "autoreward.extract": 2,
    "autoreward.feedback": 2,
    "autoreward.designer": 2,
    "autoreward.examples": 2,  # worked examples for the design prompt
    "autoreward.grammar": 2,  # the llama.cpp grammar that holds a small model to its skeleton
    "autoreward.plan": 2,  # the plan step's type, prompt, grammar and parsing (critic.plan_check checks plans)
    # 3: the Critic
    "autoreward.critic": 3,
    # 4: training
    "autoreward.training": 4,
    "autoreward.ray_backend": 4,
    # 5: analysis and the records of what happened
    "autoreward.analyzer": 5,
    "autoreward.failure_modes": 5,
    "autoreward.worker_report": 5,  # a training worker's report, checked before it is stored or used
    "autoreward.store": 5,
    "autoreward.preference": 5,
    "autoreward.observer": 5,
    "autoreward.run_plot": 5,
    # 6: the loop and what starts, resumes and finishes runs
    "autoreward.loop": 6,
    "autoreward.parts": 6,
    "autoreward.start": 6,
    "autoreward.past_runs": 6,
    "autoreward.runs": 6,
    "autoreward.newcard": 6,  # autoreward new: a card from one sentence
    "autoreward.evaluation": 6,  # evaluate / replay / report: operations on stored runs
    "autoreward.evaluation_plan": 6,
    "autoreward.evidence": 6,
    "autoreward.provenance": 6,
    "autoreward.report": 6,
    "autoreward.replay": 6,
    # 7: people: the command line, the terminal view, the web page, the Python API
    "autoreward.api": 7,
    "autoreward.cli": 7,
    "autoreward.live": 7,
    "autoreward.web": 7,
}
# the package's __init__ is its public face: it may name anything, lazily
FACES = {"autoreward"}


def _modules() -> Iterator[tuple[str, Path]]:
    for package, folder in FOLDERS.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            yield ".".join([package, *parts]), path


MODULES = dict(_modules())


def layer(module: str) -> int:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(module: str, path: Path) -> list[tuple[str, int, bool]]:
    """(imported autoreward module, line, type-only) for every import in the file, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _type_checking(node):
            type_only |= {id(n) for child in node.body for n in ast.walk(child)}
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:
                package = module if path.name == "__init__.py" else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{node.module}"
            # `from autoreward.x import y` imports the module x.y when there is one
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        for name in names:
            if name == "autoreward" or name.startswith("autoreward."):
                while name not in MODULES and "." in name:
                    name = name.rpartition(".")[0]
                found.append((name, node.lineno, id(node) in type_only))
    return found


GRAPH = {module: imports(module, path) for module, path in MODULES.items()}


def test_every_module_has_a_layer() -> None:
    unplaced = [m for m in MODULES if m not in FACES and layer(m) == 0 and m.rpartition(".")[0] == "autoreward"]
    unplaced = [m for m in unplaced if m not in LAYERS]
    assert not unplaced, f"place these modules in a layer of LAYERS: {unplaced}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m not in FACES))
def test_no_module_imports_one_further_up_the_chain(module: str) -> None:
    upward = [
        f"{MODULES[module].relative_to(ROOT)}:{line} imports {name} (layer {layer(name)} > {layer(module)})"
        for name, line, type_only in GRAPH[module]
        if not type_only and name not in FACES and layer(name) > layer(module)
    ]
    assert not upward, "\n".join(upward)


def test_no_import_hides_a_cycle() -> None:
    """Imports at run time (top level or inside functions) form no cycle between modules."""
    edges = {
        m: {n for n, _, type_only in GRAPH[m] if not type_only and n != m and n not in FACES and m not in FACES}
        for m in MODULES
    }
    # a package's __init__ is imported by its own modules' imports: an edge from a package to its own module
    # is the package re-exporting it, not a cycle
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(edges[m]):
            if m.startswith(n + ".") or n.startswith(m + "."):
                continue
            if state.get(n) == 1:
                return [*stack[stack.index(n) :], n]
            if n not in state and (cycle := visit(n)):
                return cycle
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(edges):
        if m not in state and (cycle := visit(m)):
            pytest.fail("import cycle: " + " -> ".join(cycle))
