"""autoreward: an LLM writes the reward program, autoreward checks, trains, judges and improves it."""

__version__ = "0.1.0"
