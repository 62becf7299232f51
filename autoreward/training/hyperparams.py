"""Per-env PPO hyper-parameters: rl-zoo3's tuned settings, so that a bad result is the reward's fault.

Source: rl-baselines3-zoo ``hyperparams/ppo.yml`` (DLR-RM/rl-baselines3-zoo, the file rl-zoo3 2.x ships),
entries for the -v3 MuJoCo envs applied to every version (v4/v5 share dynamics and observation sizes). Values
are copied, not imported: rl-zoo3 is not a dependency. ``lin_X`` means a schedule falling linearly from X to 0,
as in the zoo. Envs without an entry (Pusher, users' own envs) get SB3's PPO defaults with VecNormalize, the
zoo's ``mujoco-defaults``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from torch import nn

ZOO_SOURCE = "rl-baselines3-zoo hyperparams/ppo.yml"

PPO_N_STEPS = 2048  # SB3 PPO's default n_steps
PPO_GAMMA = 0.99  # SB3 PPO's default discount

_ZOO_POLICY = {"log_std_init": -2, "ortho_init": False, "activation_fn": "relu", "net_arch": [256, 256]}


@dataclass(frozen=True)
class PPOSettings:
    """What ``PPO(...)`` and the vec env need; ``ppo`` holds only JSON-able values (schedules as ``lin_X``)."""

    n_envs: int = 1
    normalize: bool = True
    ppo: dict[str, Any] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)
    source: str = "SB3 PPO defaults with VecNormalize (no rl-zoo3 entry)"
    # SB3's policy class, and why it fits the observation the suite's adapter (envs/suites.py) gives the policy.
    policy_class: str = "MlpPolicy"
    observation: str = "the env's own flat observation"
    # How the true fitness is measured: the policy's most likely action (SB3's and rl-zoo3's default), or a sample
    # from it where a memoryless policy on a partial view loops when it always takes its argmax.
    deterministic_eval: bool = True

    @property
    def gamma(self) -> float:
        """PPO's discount: the prompts ask for a potential difference discounted by it (Ng et al.'s shaping)."""
        return float(self.ppo.get("gamma", PPO_GAMMA))

    @property
    def rollout(self) -> int:
        """Env steps between two PPO updates: ``n_steps`` (SB3's default 2048) per env, over ``n_envs``."""
        return int(self.ppo.get("n_steps", PPO_N_STEPS)) * self.n_envs


ZOO: dict[str, PPOSettings] = {
    "Pendulum": PPOSettings(
        n_envs=4, normalize=False, source=ZOO_SOURCE,
        ppo={"n_steps": 1024, "gae_lambda": 0.95, "gamma": 0.9, "n_epochs": 10, "ent_coef": 0.0,
             "learning_rate": 1e-3, "clip_range": 0.2, "use_sde": True, "sde_sample_freq": 4},
    ),
    "CartPole": PPOSettings(
        n_envs=8, normalize=False, source=ZOO_SOURCE,
        ppo={"n_steps": 32, "batch_size": 256, "gae_lambda": 0.8, "gamma": 0.98, "n_epochs": 20,
             "ent_coef": 0.0, "learning_rate": "lin_0.001", "clip_range": "lin_0.2"},
    ),
    "MountainCarContinuous": PPOSettings(
        n_envs=1, normalize=True, source=ZOO_SOURCE,
        ppo={"batch_size": 256, "n_steps": 8, "gamma": 0.9999, "learning_rate": 7.77e-05, "ent_coef": 0.00429,
             "clip_range": 0.1, "n_epochs": 10, "gae_lambda": 0.9, "max_grad_norm": 5, "vf_coef": 0.19,
             "use_sde": True},
        policy={"log_std_init": -3.29, "ortho_init": False},
    ),
    "Acrobot": PPOSettings(
        n_envs=16, normalize=True, source=ZOO_SOURCE,
        ppo={"n_steps": 256, "gae_lambda": 0.94, "gamma": 0.99, "n_epochs": 4, "ent_coef": 0.0},
    ),
    "Ant": PPOSettings(n_envs=1, normalize=True, source=f"{ZOO_SOURCE} (mujoco-defaults)"),
    "Swimmer": PPOSettings(n_envs=1, normalize=True, source=f"{ZOO_SOURCE} (mujoco-defaults)",
                           ppo={"gamma": 0.9999}),
    "HalfCheetah": PPOSettings(
        n_envs=1, normalize=True, source=ZOO_SOURCE,
        ppo={"batch_size": 64, "n_steps": 512, "gamma": 0.98, "learning_rate": 2.0633e-05,
             "ent_coef": 0.000401762, "clip_range": 0.1, "n_epochs": 20, "gae_lambda": 0.92,
             "max_grad_norm": 0.8, "vf_coef": 0.58096},
        policy=_ZOO_POLICY,
    ),
    "Hopper": PPOSettings(
        n_envs=1, normalize=True, source=ZOO_SOURCE,
        ppo={"batch_size": 32, "n_steps": 512, "gamma": 0.999, "learning_rate": 9.80828e-05,
             "ent_coef": 0.00229519, "clip_range": 0.2, "n_epochs": 5, "gae_lambda": 0.99,
             "max_grad_norm": 0.7, "vf_coef": 0.835671},
        policy=_ZOO_POLICY,
    ),
    "Humanoid": PPOSettings(
        n_envs=1, normalize=True, source=ZOO_SOURCE,
        ppo={"batch_size": 256, "n_steps": 512, "gamma": 0.95, "learning_rate": 3.56987e-05,
             "ent_coef": 0.00238306, "clip_range": 0.3, "n_epochs": 5, "gae_lambda": 0.9,
             "max_grad_norm": 2, "vf_coef": 0.431892},
        policy=_ZOO_POLICY,
    ),
    "Reacher": PPOSettings(
        n_envs=1, normalize=True, source=ZOO_SOURCE,
        ppo={"batch_size": 32, "n_steps": 512, "gamma": 0.9, "learning_rate": 0.000104019,
             "ent_coef": 7.52585e-08, "clip_range": 0.3, "n_epochs": 5, "gae_lambda": 1.0,
             "max_grad_norm": 0.9, "vf_coef": 0.950368},
    ),
    "Walker2d": PPOSettings(
        n_envs=1, normalize=True, source=ZOO_SOURCE,
        ppo={"batch_size": 32, "n_steps": 512, "gamma": 0.99, "learning_rate": 5.05041e-05,
             "ent_coef": 0.000585045, "clip_range": 0.1, "n_epochs": 20, "gae_lambda": 0.95,
             "max_grad_norm": 1, "vf_coef": 0.871923},
    ),
}  # fmt: skip

# Optional suites, by env-id prefix (their ids carry task names, so the per-id table above cannot key them).
# Every suite gives the policy one flat float vector, so MlpPolicy serves all: no pixels are kept.
SUITE_SETTINGS: tuple[tuple[str, PPOSettings], ...] = (
    ("MiniGrid-", PPOSettings(
        n_envs=8, normalize=True, source=f"{ZOO_SOURCE} (MiniGrid-DoorKey-5x5-v0, applied to every MiniGrid task)",
        ppo={"n_steps": 128, "batch_size": 64, "gae_lambda": 0.95, "gamma": 0.99, "n_epochs": 10, "ent_coef": 0.0,
             "learning_rate": 2.5e-4, "clip_range": 0.2},
        observation="symbolic: one-hot object, colour and door state of the 7x7 cells in view, direction "
                    "(envs/minigrid.py); the zoo's MiniGrid entries use MlpPolicy on a flat observation too",
        # Facing the same view, an argmax policy repeats the same action forever (a wall, a corner); MiniGrid's own
        # training scripts (rl-starter-files' evaluate.py) sample the policy's actions unless told --argmax.
        deterministic_eval=False,
    )),
    ("Crafter-", PPOSettings(
        n_envs=4, normalize=False, source="SB3 PPO defaults, ent_coef 0.01 for exploration (no rl-zoo3 entry)",
        ppo={"ent_coef": 0.01},
        observation="symbolic: one-hot material and creature of the 9x7 cells around the player, inventory, "
                    "facing (envs/crafter.py), instead of Crafter's 64x64 image and a CnnPolicy",
    )),
    ("Fetch", PPOSettings(
        n_envs=1, normalize=True, source="SB3 PPO defaults with VecNormalize (the zoo tunes Fetch only for HER)",
        observation="the dict observation flattened by FlattenObservation (envs/fetch.py): MultiInputPolicy "
                    "would concatenate the same three vectors, and no goal relabelling (HER) needs the dict",
    )),
    ("Meta-World/", PPOSettings(
        n_envs=1, normalize=True, source="SB3 PPO defaults with VecNormalize (no rl-zoo3 entry)",
        observation="MetaWorld's own 39-entry vector",
    )),
    ("ManiSkill/", PPOSettings(
        n_envs=1, normalize=True, source="SB3 PPO defaults with VecNormalize (no rl-zoo3 entry)",
        observation="ManiSkill's state_dict observation flattened (envs/maniskill.py)",
    )),
)  # fmt: skip

_ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU, "gelu": nn.GELU}
_VERSION = re.compile(r"-v\d+$")


def settings_for(env_id: str) -> PPOSettings:
    """The table's entry for ``env_id`` (any version: ``Hopper-v5`` uses ``Hopper``), else its suite's, else
    the defaults."""
    exact = ZOO.get(_VERSION.sub("", env_id.rsplit("/", 1)[-1]))
    if exact is not None:
        return exact
    return next((settings for prefix, settings in SUITE_SETTINGS if env_id.startswith(prefix)), PPOSettings())


def _schedule(value: Any) -> Any:
    """``lin_X`` becomes SB3's progress-remaining schedule; plain numbers pass through."""
    if isinstance(value, str) and value.startswith("lin_"):
        start = float(value.removeprefix("lin_"))

        def linear(progress_remaining: float) -> float:
            return progress_remaining * start

        return linear
    return value


def ppo_kwargs(settings: PPOSettings, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments for ``stable_baselines3.PPO``: the table's values, the job's overrides on top."""
    merged = {**settings.ppo, **(overrides or {})}
    policy = dict(settings.policy)
    policy.update(merged.pop("policy_kwargs", None) or {})
    if "activation_fn" in policy:
        policy["activation_fn"] = _ACTIVATIONS[str(policy["activation_fn"]).lower()]
    if "net_arch" in policy and isinstance(policy["net_arch"], list):
        policy["net_arch"] = {"pi": list(policy["net_arch"]), "vf": list(policy["net_arch"])}
    kwargs: dict[str, Any] = {k: _schedule(v) for k, v in merged.items()}
    if policy:
        kwargs["policy_kwargs"] = policy
    return kwargs
