"""Isolated execution of generated reward code (installed as ``autoreward.sandbox``)."""
