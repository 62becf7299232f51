"""``autoreward serve``: browse runs, code, curves and videos, and rank the latest policies in a browser."""

from autoreward.web.app import create_app

__all__ = ["create_app"]
