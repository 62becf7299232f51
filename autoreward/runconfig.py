"""What a run was asked to do: stored with the run, so ``autoreward resume`` continues with the same settings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from autoreward.config import LLMSettings
from autoreward.start import StartProgram

# Default programs per iteration when successive halving is on (4 without). Measured with bench/halving.py
# (hopper-forward, K = 8 at 27k steps each, 2 workers, load ~15): halving took 0.38x the env steps and 0.56x the
# wall time of training all 8 to the end, so 8 with halving cost about what 4 (0.5x) do without.
SAMPLES_WITH_PRUNING = 8


class RunConfig(BaseModel):
    """Every ``autoreward run`` option except where to store runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task: str = Field(description="catalog task name or path to a card")
    iterations: int = Field(default=3, ge=1)
    timesteps: int | None = Field(default=None, gt=0, description="None: the card's budget")
    workers: int | None = Field(default=None, gt=0, description="None: the machine's cores")
    seed: int = 0
    preference: Literal["none", "synthetic", "human"] = "none"
    oracle_noise: float = Field(default=0.0, ge=0.0, description="std of noise added to fitness by the oracle")
    oracle_budget: int | None = Field(default=None, gt=0, description="pairwise comparisons the oracle may make")
    video: bool = True
    backend: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    gpus_per_candidate: float = Field(default=0.0, ge=0.0, description="GPUs Ray reserves per candidate (ray only)")
    llm_review: bool = True
    eval_episodes: int = Field(default=5, ge=1)
    prune: bool = Field(default=True, description="successive halving across an iteration's candidates")
    prune_factor: int = Field(default=3, ge=2, description="keep the top 1/factor at each halving rung")
    llm: LLMSettings = Field(default_factory=LLMSettings)
    examples_from_runs: bool = Field(
        default=False, description="show the Designer the best programs of earlier runs on the same env"
    )
    start_from: list[StartProgram] = Field(
        default_factory=list, description="programs trained in iteration 1 beside the LLM's (--from, card's from)"
    )

    def train_seed(self, iteration: int, index: int) -> int:
        """A distinct, reproducible training seed per candidate."""
        return self.seed + 1000 * iteration + index
