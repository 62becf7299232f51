"""What a run was asked to do: stored with the run, so ``autoreward resume`` continues with the same settings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from autoreward.config import LLMSettings


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
    llm: LLMSettings = Field(default_factory=LLMSettings)

    def train_seed(self, iteration: int, index: int) -> int:
        """A distinct, reproducible training seed per candidate."""
        return self.seed + 1000 * iteration + index
