"""Jinja2 templates for every text autoreward shows an LLM (installed as ``autoreward.prompts``)."""
