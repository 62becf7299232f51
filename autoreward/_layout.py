"""``autoreward.envs``, ``.sandbox`` and ``.prompts`` from a source tree, as an install maps them.

The folders ``envs/``, ``sandbox/`` and ``prompts/`` sit beside the package in a checkout; ``pyproject.toml``'s
``package-dir`` maps them into it. Anything that imports ``autoreward`` straight from a checkout (a Ray worker
puts the driver's cwd first on ``sys.path``) would not find them: this finder maps exactly those three names,
and only when the package was imported from such a tree. An installed package carries them itself.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

MAPPED = ("envs", "sandbox", "prompts")


class SourceTreeFinder(importlib.abc.MetaPathFinder):
    """Finds ``autoreward.<name>`` for the mapped names in the checkout ``root``; nothing else."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        package, _, name = fullname.partition(".")
        if package != "autoreward" or name not in MAPPED:
            return None
        folder = self.root / name
        return importlib.util.spec_from_file_location(
            fullname, folder / "__init__.py", submodule_search_locations=[str(folder)]
        )


def map_source_tree() -> None:
    """Install the finder (first, so this tree wins over another checkout's editable mapping) when the package
    was imported from a checkout: its own folder lacks ``envs`` and the checkout has it beside the package."""
    here = Path(__file__).resolve().parent
    root = here.parent
    if (here / "envs").is_dir() or not all((root / name / "__init__.py").is_file() for name in MAPPED):
        return
    if any(isinstance(f, SourceTreeFinder) and f.root == root for f in sys.meta_path):
        return
    sys.meta_path.insert(0, SourceTreeFinder(root))
