"""``autoreward replay``: a new run made from a stored run's LLM answers, without asking the LLM anything.

The new run gets the stored run's card and settings (another seed if asked) and a copy of every stored LLM
call: the Designer's answers, the reviews and the re-samples. The loop already takes a stored answer before it
would ask, so it replays them in order; a replay that needs an answer the store lacks stops (the loop checks
``meta["replay_of"]`` before any request).
"""

from __future__ import annotations

import time

from autoreward.errors import AutorewardError
from autoreward.runconfig import RunConfig
from autoreward.runs import create_run, stored_card
from autoreward.store import RunStore


def replay_id(source_id: str) -> str:
    return f"{source_id}-replay-{time.strftime('%Y%m%d-%H%M%S')}"


def _purpose_for(purpose: str, source_id: str, new_id: str) -> str:
    """A review's purpose names its candidate (``review:RUN/it00-c01``): rename it to the new run's."""
    prefix = f"review:{source_id}/"
    return f"review:{new_id}/{purpose.removeprefix(prefix)}" if purpose.startswith(prefix) else purpose


def start_replay(store: RunStore, source_id: str, new_id: str | None = None, seed: int | None = None) -> str:
    """Create the replay run with the source's stored LLM calls; nothing runs yet. Returns its id."""
    source = store.run(source_id)
    calls = store.llm_calls(source_id)
    if not calls:
        raise AutorewardError(f"run {source_id} stored no LLM answer: there is nothing to replay")
    config = RunConfig.model_validate(source.config)
    if seed is not None:
        config = config.model_copy(update={"seed": seed})
    new_id = new_id or replay_id(source_id)
    create_run(store, stored_card(store, source_id), config, new_id, replay_of=source_id)
    for call in calls:
        store.add_llm_call(new_id, call.iteration, _purpose_for(call.purpose, source_id, new_id), call.record)
    return new_id
