"""Catalog tasks as pytest parameters, skipped (with the extra to install) where their suite cannot run here."""

from __future__ import annotations

import pytest

from autoreward.envs.suites import prepare, suite_for
from autoreward.errors import TaskError
from autoreward.tasks import catalog


def unavailable(task: str) -> str | None:
    """Why the task's suite cannot make its env on this machine (the one-line message), or None."""
    card = catalog()[task]
    suite = suite_for(card.env_id)
    if suite is None:
        return None
    try:
        prepare(suite, card.env_id)
    except TaskError as err:
        return str(err)
    return None


def task_params(tasks: list[str]) -> list:
    """``tasks`` for ``parametrize``: a task whose suite is missing here is skipped, naming what to install."""
    return [pytest.param(t, marks=pytest.mark.skip(reason=why)) if (why := unavailable(t)) else t for t in tasks]


def needs_task(task: str) -> pytest.MarkDecorator:
    """Skip a test built on ``task`` where its suite cannot run here, naming what to install."""
    why = unavailable(task)
    return pytest.mark.skipif(why is not None, reason=why or "")
