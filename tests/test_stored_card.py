"""A stored run is its stored card: editing the card's file later changes neither what resumes nor what trains."""

from __future__ import annotations

from pathlib import Path

from autoreward.api import start_run
from autoreward.runs import stored_card
from autoreward.store import RunStore
from autoreward.training.models import TrainJob

CARD = 'name = "mine"\nenv_id = "CartPole-v1"\nintent = "Balance the pole."\nfitness = "episode_length"\ntimesteps = {steps}\n'


def test_an_edited_card_file_changes_no_stored_run(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(CARD.format(steps=4000))
    run_id = start_run(path, model="openai/test-model", api_base="http://127.0.0.1:9", runs_dir=tmp_path / "runs")
    path.write_text(CARD.format(steps=999).replace("Balance the pole.", "Something else."))

    store = RunStore(tmp_path / "runs")
    card = stored_card(store, run_id)
    assert (card.timesteps, card.intent) == (4000, "Balance the pole.")
    assert card.source == path.resolve()  # a module named beside the card still resolves

    job = TrainJob(task=str(path), reward_source=None, card=card.model_dump(mode="json"), card_source=str(path))
    assert job.task_card().timesteps == 4000  # what a worker trains on
    assert TrainJob(task=str(path), reward_source=None).task_card().timesteps == 999  # a job without its card
