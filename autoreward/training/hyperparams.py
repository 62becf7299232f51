"""Per-env learner settings: rl-zoo3's tuned hyper-parameters, so that a bad result is the reward's fault.

Source: rl-baselines3-zoo ``hyperparams/ppo.yml`` (DLR-RM/rl-baselines3-zoo, the file rl-zoo3 2.x ships),
entries for the -v3 MuJoCo envs applied to every version (v4/v5 share dynamics and observation sizes). Values
are copied, not imported: rl-zoo3 is not a dependency. ``lin_X`` means a schedule falling linearly from X to 0,
as in the zoo. Envs without an entry (Pusher, users' own envs) get SB3's PPO defaults with VecNormalize, the
zoo's ``mujoco-defaults``. A card may choose another SB3 algorithm (``algorithm``), its settings in the zoo's
YAML keys (``[hyperparameters]``) and ``n_envs``; ``learner_settings`` applies them over the table's entry.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import stable_baselines3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise
from torch import nn

from autoreward.errors import TaskError

if TYPE_CHECKING:
    import gymnasium as gym

    from autoreward.tasks import TaskCard

ZOO_SOURCE = "rl-baselines3-zoo hyperparams/ppo.yml"
# A card's ``algorithm`` -> stable-baselines3's class name.
ALGORITHMS: dict[str, str] = {"ppo": "PPO", "sac": "SAC", "td3": "TD3", "a2c": "A2C", "dqn": "DQN"}

PPO_N_STEPS = 2048  # SB3 PPO's default n_steps
PPO_GAMMA = 0.99  # SB3 PPO's default discount

_ZOO_POLICY = {"log_std_init": -2, "ortho_init": False, "activation_fn": "relu", "net_arch": [256, 256]}


@dataclass(frozen=True)
class PPOSettings:
    """What the SB3 model and the vec env need; ``ppo`` holds the algorithm's keyword arguments, JSON-able only
    (schedules as ``lin_X``, action noise as the zoo's ``noise_type``/``noise_std``)."""

    algorithm: str = "ppo"
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
        """The learner's discount: the prompts ask for a potential difference discounted by it (Ng et al.'s shaping)."""
        return float(self.ppo.get("gamma", PPO_GAMMA))

    @property
    def rollout(self) -> int:
        """Env steps of one learning unit, on which successive halving places its rungs: PPO's and A2C's rollout,
        ``n_steps`` (SB3's defaults 2048 and 5) per env over ``n_envs``; for an off-policy learner its warm-up,
        ``learning_starts`` (SB3's default where unset), or ``train_freq`` steps if longer, over ``n_envs``."""
        if self.algorithm in ("ppo", "a2c"):
            return int(self.ppo.get("n_steps", PPO_N_STEPS if self.algorithm == "ppo" else 5)) * self.n_envs
        params = inspect.signature(algorithm_class(self)).parameters
        freq = self.ppo.get("train_freq", params["train_freq"].default)
        freq = int(freq[0] if isinstance(freq, list | tuple) else freq)
        return max(int(self.ppo.get("learning_starts", params["learning_starts"].default)), freq, 1) * self.n_envs

    @property
    def name(self) -> str:
        """The algorithm as SB3 names it: ``SAC``."""
        return ALGORITHMS[self.algorithm]


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

# rl-zoo3's entries for the other algorithms (hyperparams/sac.yml, td3.yml), keyed like ZOO; its MuJoCo entries
# set only learning_starts (and TD3's exploration noise) over SB3's defaults.
_SAC_ZOO, _TD3_ZOO = "rl-baselines3-zoo hyperparams/sac.yml", "rl-baselines3-zoo hyperparams/td3.yml"
_MUJOCO = ("Ant", "HalfCheetah", "Hopper", "Humanoid", "Walker2d", "Swimmer")
OTHER_ZOO: dict[tuple[str, str], PPOSettings] = {
    ("sac", "Pendulum"): PPOSettings(algorithm="sac", normalize=False, source=_SAC_ZOO, ppo={"learning_rate": 1e-3}),
    ("td3", "Pendulum"): PPOSettings(
        algorithm="td3", normalize=False, source=_TD3_ZOO,
        ppo={"gamma": 0.98, "buffer_size": 200000, "learning_starts": 10000, "noise_type": "normal",
             "noise_std": 0.1, "gradient_steps": 1, "train_freq": 1, "learning_rate": 1e-3},
        policy={"net_arch": [400, 300]},
    ),
    **{("sac", env): PPOSettings(algorithm="sac", normalize=False, source=_SAC_ZOO,
                                 ppo={"learning_starts": 10000}) for env in _MUJOCO},
    **{("td3", env): PPOSettings(algorithm="td3", normalize=False, source=_TD3_ZOO,
                                 ppo={"learning_starts": 10000, "noise_type": "normal", "noise_std": 0.1})
       for env in _MUJOCO},
}  # fmt: skip

_ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU, "gelu": nn.GELU}
_VERSION = re.compile(r"-v\d+$")


def _zoo_key(env_id: str) -> str:
    return _VERSION.sub("", env_id.rsplit("/", 1)[-1])


def settings_for(env_id: str) -> PPOSettings:
    """PPO's table entry for ``env_id`` (any version: ``Hopper-v5`` uses ``Hopper``), else its suite's, else
    the defaults."""
    exact = ZOO.get(_zoo_key(env_id))
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


def algorithm_class(settings: PPOSettings) -> type[BaseAlgorithm]:
    """The stable-baselines3 class that ``settings`` train: ``stable_baselines3.SAC``."""
    return getattr(stable_baselines3, settings.name)


def learner_settings(card: TaskCard) -> PPOSettings:
    """What trains ``card``'s candidates: its algorithm's zoo entry for the env (PPO's table for ``ppo``; SB3's
    defaults where the zoo has none, keeping the suite's policy class and evaluation), then the card's own
    ``[hyperparameters]`` (zoo keys) and ``n_envs`` on top; a key the algorithm lacks is a one-line TaskError."""
    base = settings_for(card.env_id)
    if card.algorithm != "ppo":
        normalize = card.algorithm == "a2c"  # the zoo normalises A2C's MuJoCo observations, not the off-policy ones'
        defaults = f"SB3 {ALGORITHMS[card.algorithm]} defaults{' with VecNormalize' if normalize else ''}"
        base = OTHER_ZOO.get((card.algorithm, _zoo_key(card.env_id))) or replace(
            base, algorithm=card.algorithm, n_envs=1, normalize=normalize, ppo={}, policy={},
            source=f"{defaults} (no rl-zoo3 entry)",
        )  # fmt: skip
    hyper = dict(card.hyperparameters)
    where = f"{card.source or card.name}: field 'hyperparameters'"
    if "n_timesteps" in hyper:
        raise TaskError(f"{where}: n_timesteps is the card's budget: set timesteps = ... instead")
    normalize = hyper.pop("normalize", base.normalize)
    if not isinstance(normalize, bool):
        raise TaskError(f"{where}: normalize = {normalize!r}: give true or false")
    n_envs = card.n_envs or int(hyper.pop("n_envs", base.n_envs))
    policy_class = str(hyper.pop("policy", base.policy_class))
    if not isinstance(hyper.get("policy_kwargs", {}), dict):
        raise TaskError(f"{where}: policy_kwargs must be a table, e.g. policy_kwargs = {{ net_arch = [64, 64] }}")
    accepted = set(inspect.signature(algorithm_class(base).__init__).parameters) | {"noise_type", "noise_std"}
    unknown = sorted(set(hyper) - accepted - {"policy", "env", "seed", "device", "verbose"})
    if unknown:
        raise TaskError(f"{where}: {base.name} has no setting {unknown[0]!r}; remove it or fix its name")
    if not hyper and n_envs == base.n_envs and normalize == base.normalize and policy_class == base.policy_class:
        return base
    mine = ", ".join(f"{k}={v}" for k, v in card.hyperparameters.items())
    return replace(
        base, ppo={**base.ppo, **hyper}, n_envs=n_envs, normalize=normalize, policy_class=policy_class,
        source=f"{base.source}; the card's: {mine or f'n_envs={n_envs}'}",
    )  # fmt: skip


def _action_noise(kind: str, std: float, space: gym.Space) -> Any:
    shape = space.shape or (1,)
    if kind == "normal":
        return NormalActionNoise(np.zeros(shape), std * np.ones(shape))
    if kind == "ornstein-uhlenbeck":
        return OrnsteinUhlenbeckActionNoise(np.zeros(shape), std * np.ones(shape))
    raise ValueError(f"noise_type {kind!r} is not normal or ornstein-uhlenbeck")


def model_kwargs(
    settings: PPOSettings, overrides: dict[str, Any] | None = None, action_space: gym.Space | None = None
) -> dict[str, Any]:
    """Keyword arguments for the settings' SB3 class: the table's values, the job's overrides on top; the zoo's
    ``noise_type``/``noise_std`` become ``action_noise`` for ``action_space``."""
    merged = {**settings.ppo, **(overrides or {})}
    policy = dict(settings.policy)
    policy.update(merged.pop("policy_kwargs", None) or {})
    if "activation_fn" in policy:
        policy["activation_fn"] = _ACTIVATIONS[str(policy["activation_fn"]).lower()]
    on_policy = settings.algorithm in ("ppo", "a2c")
    if on_policy and "net_arch" in policy and isinstance(policy["net_arch"], list):
        policy["net_arch"] = {"pi": list(policy["net_arch"]), "vf": list(policy["net_arch"])}
    noise = merged.pop("noise_type", None), float(merged.pop("noise_std", 0.1))
    kwargs: dict[str, Any] = {k: _schedule(v) for k, v in merged.items()}
    if isinstance(kwargs.get("train_freq"), list):
        kwargs["train_freq"] = tuple(kwargs["train_freq"])
    if noise[0] is not None and action_space is not None:
        kwargs["action_noise"] = _action_noise(str(noise[0]), noise[1], action_space)
    if policy:
        kwargs["policy_kwargs"] = policy
    return kwargs
