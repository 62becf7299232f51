"""autoreward: an LLM writes the reward program, autoreward checks, trains, judges and improves it."""

from autoreward._layout import map_source_tree

__version__ = "0.1.0"

map_source_tree()
