"""Write a reward program as one standalone file: the program, the State builder and a gymnasium Wrapper.

The file depends only on numpy, gymnasium and mujoco. It is assembled from whole, tested modules
(``envs/state.py``, ``envs/classic.py``, ``envs/wrapper.py``, ``reward/allowlist.py``) with their
package-internal imports removed by the ``ast`` module, so the exported reward is computed by exactly the code
that computed it in training. The program itself and every user or program text (task, env id, file names)
go in as data: Python literals the file checks and runs, never as code or raw docstring text.
"""

from __future__ import annotations

import ast
import pprint
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from autoreward.envs.suites import suite_for
from autoreward.errors import AutorewardError
from autoreward.reward import allowlist, parse_program
from autoreward.templates import environment

# Modules that make up the standalone State builder, Wrapper and reward contract, in dependency order.
_MODULES = (
    ("autoreward.envs", "state.py"),
    ("autoreward.envs", "manipulation.py"),
    ("autoreward.envs", "classic.py"),
    ("autoreward.envs", "wrapper.py"),
    ("autoreward.reward", "contract.py"),
    ("autoreward.reward", "allowlist.py"),
)
_DOC_UNSAFE = re.compile(r"[^A-Za-z0-9 _.,:;()\[\]/+=%>-]")


def _doc(text: object) -> str:
    """``text`` for the file's docstring: characters that could end it or read as markup become ``?``."""
    return _DOC_UNSAFE.sub("?", str(text))


def _literal(text: str) -> str:
    """``text`` as a Python string literal: triple-quoted where that reads back exactly, else ``repr``."""
    quoted = f'"""{text}"""'
    try:
        if "\\" not in text and ast.literal_eval(quoted) == text:
            return quoted
    except (SyntaxError, ValueError):
        pass
    return repr(text)


def _data(value: object) -> str:
    """``value`` (plain data: strings, numbers, dicts) as a Python literal."""
    return pprint.pformat(value, width=100, sort_dicts=False)


def refused(program: str) -> str | None:
    """Why ``program`` may not be exported (it fails the allow-list every loader checks), or None."""
    found = allowlist.problems(parse_program(program))
    if not found:
        return None
    line, message = found[0]
    return f"line {line}: {message}" if line else message


def _segment(lines: list[str], node: ast.stmt) -> str:
    """The whole lines of a top-level statement, decorators included."""
    start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    return "".join(lines[start - 1 : node.end_lineno])


def _split(source: str) -> tuple[list[ast.Import | ast.ImportFrom], list[str]]:
    """(external imports, other top-level statements) of a module, dropping its docstring and the
    ``__future__`` and autoreward imports, which the standalone file does not need."""
    tree = parse_program(source)
    lines = source.splitlines(keepends=True)
    imports: list[ast.Import | ast.ImportFrom] = []
    body: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            imports += [stmt for stmt in node.body if isinstance(stmt, ast.Import | ast.ImportFrom)]
        elif isinstance(node, ast.Import | ast.ImportFrom):
            imports.append(node)
        elif not (node is tree.body[0] and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            body.append(_segment(lines, node).rstrip())
    internal = ("__future__", "autoreward")
    kept = [i for i in imports if not (isinstance(i, ast.ImportFrom) and (i.module or "").startswith(internal))]
    return kept, body


def _merge_imports(imports: list[ast.Import | ast.ImportFrom]) -> list[str]:
    """One sorted import line per module, names merged (``from typing import Any`` twice becomes once)."""
    plain: set[str] = set()
    named: dict[str, set[str]] = {}
    for node in imports:
        if isinstance(node, ast.Import):
            plain |= {ast.unparse(ast.Import(names=[alias])) for alias in node.names}
        else:
            named.setdefault(node.module or "", set()).update(
                ast.unparse(alias) for alias in node.names if alias.name != "TYPE_CHECKING"
            )
    froms = [f"from {module} import {', '.join(sorted(names))}" for module, names in named.items() if names]
    return sorted(plain) + sorted(froms)


def _module_sources() -> tuple[list[ast.Import | ast.ImportFrom], list[str]]:
    imports: list[ast.Import | ast.ImportFrom] = []
    bodies: list[str] = []
    for package, name in _MODULES:
        mod_imports, mod_body = _split((resources.files(package) / name).read_text(encoding="utf-8"))
        imports += mod_imports
        bodies.append("\n\n\n".join(mod_body))
    return imports, bodies


# What a file that imports the State builder from the installed package imports instead of embedding it.
_SUITE_IMPORTS = [
    "from collections.abc import Callable, Mapping",
    "from typing import Any",
    "import gymnasium as gym",
    "import numpy as np",
    "from autoreward.envs.make import state_spec",
    "from autoreward.envs.state import State, hook_fields, named_obs_fields, obs_fields",
    "from autoreward.envs.suites import as_trained, prepare, suite_for",
    "from autoreward.envs.wrapper import ProgramReward",
    "from autoreward.reward.allowlist import load_checked",
    "from autoreward.reward.contract import checked",
]


def standalone_source(
    program: str,
    *,
    task: str,
    env_id: str,
    run_id: str,
    fitness: float | None,
    descent: str = "",
    provenance: Mapping[str, str] | None = None,
    module: str = "this_module",
    observation: Mapping[str, Sequence[Any]] | None = None,
) -> str:
    """The text of the exported file for ``program`` (the reward program's own source); ``descent``, a
    sentence for the header, says which of the user's files the program descends from; ``provenance`` (label
    -> text: algorithm, settings, budget, seeds, fitness) says how its fitness was reached. Where the env's
    suite builds its State in an adapter, the file imports it from the installed package and says so.
    ``module``: the name the usage example imports the file by; ``observation``: the card's names for entries of
    the observation (``TaskCard.observation_spans``), which the file's State rebuilds."""
    why = refused(program)
    if why:
        raise AutorewardError(f"{task}: the program fails the reward allow-list, so no file runs it: {why}")
    suite = suite_for(env_id)
    standalone = suite is None or suite.standalone
    imports, modules = _module_sources() if standalone else ([], [])
    environment_ = environment().overlay()
    environment_.filters["doc"] = _doc
    environment_.filters["literal"] = _literal
    environment_.filters["data"] = _data
    source = (resources.files("autoreward") / "exported.py.j2").read_text(encoding="utf-8")
    return environment_.from_string(source).render(
        task=task,
        env_id=env_id,
        run_id=run_id,
        fitness=fitness,
        descent=descent,
        provenance=dict(provenance or {}),
        module=module,
        standalone=standalone,
        suite=suite.name if suite is not None else "",
        imports=_merge_imports(imports) if standalone else _SUITE_IMPORTS,
        modules=modules,
        program=program,
        observation={name: list(span) for name, span in (observation or {}).items()},
    )


def check_exported(path: Path) -> None:
    """Refuse (AutorewardError) an exported file whose program fails the allow-list, or that holds no program
    as data (written by an older autoreward), before any of it runs: its own check would run at import, but a
    loader checks first rather than trust the file to."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, UnicodeDecodeError, SyntaxError, RecursionError, ValueError) as err:
        raise AutorewardError(f"{path} is not a readable Python file ({type(err).__name__})") from None
    programs = [
        node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and [ast.unparse(t) for t in node.targets] == ["PROGRAM"]
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    ]
    if len(programs) != 1:
        raise AutorewardError(
            f"{path} holds no reward program as data: it was not written by this autoreward's export; "
            "write it again with `autoreward export RUN_ID`"
        )
    try:
        why = refused(programs[0])
    except AutorewardError as err:
        why = str(err)
    if why:
        raise AutorewardError(f"{path}: its reward program fails the allow-list and was not run: {why}")


def write_standalone(
    path: Path,
    program: str,
    *,
    task: str,
    env_id: str,
    run_id: str,
    fitness: float | None,
    descent: str = "",
    provenance: Mapping[str, str] | None = None,
    observation: Mapping[str, Sequence[Any]] | None = None,
) -> Path:
    """Write the exported file and check that it compiles."""
    text = standalone_source(
        program, task=task, env_id=env_id, run_id=run_id, fitness=fitness, descent=descent, provenance=provenance,
        module=path.stem, observation=observation,
    )  # fmt: skip
    compile(text, str(path), "exec")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
