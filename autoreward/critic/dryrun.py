"""Critic stage 2: run the program in the sandbox on real states of the real env, before any training.

The parent side (``dry_run``) turns a ``SandboxReport`` into Reasons. The worker side (``run_job``, job kind
``"dryrun"``) steps the env through random, extreme-action and (for MuJoCo) perturbed-state rollouts and calls
``compute_reward`` on every transition, checking the reward contract: a scalar finite total, a dict of finite
named components that sum to it, and a per-call cost training can afford.
"""

from __future__ import annotations

import errno
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from autoreward.critic.verdict import Reason
from autoreward.reward import ContractError, locate_nonfinite, program_line, to_numbers, value_problem

if TYPE_CHECKING:
    import gymnasium as gym

    from autoreward.envs.state import State, StateSpec
    from autoreward.sandbox.jobs import JobContext
    from autoreward.sandbox.limits import Limits
    from autoreward.sandbox.report import SandboxReport
    from autoreward.tasks import TaskCard

DEFAULT_STEPS = 300
CALL_BUDGET_MS = 1.0  # median cost per call above which training would slow down markedly (a PPO step ~0.6 ms)
CALL_TIMEOUT_S = 1.0  # one call longer than this is a hang
DOMINANT_SHARE = 0.95


# --- parent side ------------------------------------------------------------------------------------------


def dry_run(
    source: str,
    card: TaskCard,
    *,
    steps: int = DEFAULT_STEPS,
    limits: Limits | None = None,
    scratch: Path | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> list[Reason]:
    """The dry run's reasons for ``source`` on ``card``'s env (an empty list: nothing to object to)."""
    from autoreward.sandbox.jobs import Job
    from autoreward.sandbox.limits import Limits
    from autoreward.sandbox.run import run_in_sandbox

    job = Job(
        kind="dryrun",
        source=source,
        params={"card": card.model_dump(mode="json"), "card_source": str(card.source or ""), "steps": steps},
        expose=[card.source.parent] if card.source is not None else [],
    )
    limits = limits or Limits(wall_seconds=30, cpu_seconds=20)
    if scratch is not None:
        return reasons_from_report(run_in_sandbox(job, scratch, limits, on_event))
    with tempfile.TemporaryDirectory(prefix="autoreward-dryrun-") as tmp:
        return reasons_from_report(run_in_sandbox(job, Path(tmp), limits, on_event))


def reasons_from_report(report: SandboxReport) -> list[Reason]:
    """What the Designer needs to know from one dry-run report."""
    if report.ok:
        return [Reason(stage="dryrun", **finding) for finding in report.result.get("findings", [])]
    error = report.error
    line = error.line if error else None
    prefix = {
        "timeout": "too slow or never returns",
        "cpu_limit": "too slow or never returns",
        "memory_limit": "memory limit",
        "output_limit": "output limit",
        "forbidden": "forbidden operation",
        "crashed": "the worker crashed",
        "exception": "the program raised",
    }[report.status]
    detail = f"{error.type}: {error.message}" if error else report.status
    return [Reason(stage="dryrun", severity="error", message=f"{prefix}: {detail}", line=line)]


# --- worker side ------------------------------------------------------------------------------------------


class CallTimeout(BaseException):
    """Raised inside a ``compute_reward`` call that runs past CALL_TIMEOUT_S (BaseException: harder to swallow)."""


@dataclass
class Transition:
    prev: State
    action: np.ndarray
    state: State
    rollout: str


@dataclass
class Probe:
    """Calls the program on transitions and keeps what the checks need."""

    fn: Callable[..., Any]
    findings: list[dict[str, Any]] = field(default_factory=list)
    totals: list[float] = field(default_factory=list)
    components: dict[str, list[float]] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    problems: dict[str, tuple[int, str, int | None]] = field(default_factory=dict)  # kind -> count, example, line
    stopped: bool = False

    def call(self, t: Transition, index: int) -> None:
        signal.setitimer(signal.ITIMER_REAL, CALL_TIMEOUT_S)
        try:
            start = time.perf_counter()
            out = self.fn(t.prev, t.action, t.state)
            self.seconds.append(time.perf_counter() - start)
        except (MemoryError, CallTimeout) as err:
            raise _hard(err) from None
        except OSError as err:
            if err.errno in (errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM):
                raise  # limits and refusals: the worker reports them with their own status
            self._raised(err, t, index)
            return
        except Exception as err:
            self._raised(err, t, index)
            return
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        self._check(out, t, index)

    def _raised(self, err: Exception, t: Transition, index: int) -> None:
        where = f"on step {index} ({t.rollout} rollout)"
        message = f"compute_reward raised {type(err).__name__}: {str(err)[:300]} {where}"
        self.findings.append({"severity": "error", "message": message, "line": program_line(err)})
        self.stopped = True

    def _note(self, kind: str, example: str, t: Transition) -> None:
        count, first, line = self.problems.get(kind, (0, example, None))
        if count == 0 and kind == "nonfinite":
            line = locate_nonfinite(self.fn, t.prev, t.action, t.state)
        self.problems[kind] = (count + 1, first, line)

    def _check(self, out: Any, t: Transition, index: int) -> None:
        where = f"step {index}, {t.rollout} rollout"
        try:
            value, values = to_numbers(out)
        except ContractError as err:
            self._contract(str(err))
            return
        problem = value_problem(value, values)
        if problem is not None:
            kind, example = problem
            self._note(kind, f"{example} ({where})", t)
            if kind == "nonfinite":
                return
        self.totals.append(value)
        for name, v in values.items():
            self.components.setdefault(name, []).append(v)

    def _contract(self, message: str) -> None:
        self.findings.append({"severity": "error", "message": message, "line": None})
        self.stopped = True

    def summary(self, calls: int) -> dict[str, Any]:
        """Findings from all calls: counted problems, speed, variance and balance."""
        findings = list(self.findings)
        texts = {
            "nonfinite": "the reward is NaN or infinite on {n} of {calls} states, e.g. {example}",
            "sum": "the components do not sum to the total on {n} of {calls} states: {example}",
        }
        for kind, (n, example, line) in self.problems.items():
            message = texts[kind].format(n=n, calls=calls, example=example)
            findings.append({"severity": "error", "message": message, "line": line})
        per_call = float(np.median(self.seconds)) if self.seconds else 0.0
        if per_call * 1000 > CALL_BUDGET_MS:
            findings.append(
                {
                    "severity": "error",
                    "line": None,
                    "message": (
                        f"compute_reward takes {per_call * 1000:.2f} ms per call (median), over the budget of "
                        f"{CALL_BUDGET_MS:g} ms; training calls it every step: vectorise it or drop loops"
                    ),
                }
            )
        if not self.findings and len(self.totals) > 1:
            findings += _balance(self.totals, self.components)
        return {
            "findings": findings,
            "calls": calls,
            "per_call_us": per_call * 1e6,
            "total": _stats(self.totals),
            "components": {k: _stats(v) for k, v in self.components.items()},
        }


def _hard(err: BaseException) -> BaseException:
    if isinstance(err, CallTimeout):
        return TimeoutError(f"one call of compute_reward ran longer than {CALL_TIMEOUT_S:g} s").with_traceback(
            err.__traceback__
        )
    return err


def _balance(totals: list[float], components: dict[str, list[float]]) -> list[dict[str, Any]]:
    """Warnings: a reward with no variance gives no signal; one dominated by a term ignores the others."""
    out: list[dict[str, Any]] = []
    if float(np.std(totals)) < 1e-9:
        out.append(
            {
                "severity": "warning",
                "line": None,
                "message": (
                    f"the total reward is constant ({totals[0]:.6g}) on all {len(totals)} states: it gives the policy "
                    "no signal"
                ),
            }
        )
    scale = {name: float(np.mean(np.abs(v))) for name, v in components.items()}
    whole = sum(scale.values())
    if len(scale) >= 2 and whole > 0:
        name, biggest = max(scale.items(), key=lambda kv: kv[1])
        if biggest / whole > DOMINANT_SHARE:
            out.append(
                {
                    "severity": "warning",
                    "line": None,
                    "message": (
                        f"component {name!r} is {100 * biggest / whole:.0f}% of the reward's magnitude; the other "
                        "terms barely matter: rescale them"
                    ),
                }
            )
    return out


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    arr = np.asarray(values, dtype=np.float64)
    return {"mean": float(arr.mean()), "std": float(arr.std()), "min": float(arr.min()), "max": float(arr.max())}


def _on_alarm(signum: int, frame: Any) -> None:
    raise CallTimeout


def rollouts(env: gym.Env, spec: StateSpec, steps: int, seed: int) -> Iterator[Transition]:
    """Random actions, extreme actions, and (MuJoCo) randomly perturbed start states: diverse real states."""
    kinds = ["random", "extreme"] + (["perturbed"] if hasattr(env.unwrapped, "set_state") else [])
    per_kind = max(1, steps // len(kinds))
    rng = np.random.default_rng(seed)
    env.action_space.seed(seed)
    for k, kind in enumerate(kinds):
        obs, _ = env.reset(seed=seed + k)
        if kind == "perturbed":
            obs = _perturb(env, rng)
        state = spec.snapshot(obs)
        for i in range(per_kind):
            action = _action(env.action_space, kind, i)
            obs, _, terminated, truncated, _ = env.step(action)
            prev, state = state, spec.snapshot(obs)
            yield Transition(prev, np.asarray(action), state, kind)
            if terminated or truncated:
                obs, _ = env.reset()
                if kind == "perturbed":
                    obs = _perturb(env, rng)
                state = spec.snapshot(obs)


def _perturb(env: gym.Env, rng: np.random.Generator) -> Any:
    """Push a MuJoCo env to a random nearby state, far from the calm states a fresh reset gives."""
    base = env.unwrapped
    qpos = base.data.qpos.copy() + rng.normal(0.0, 0.3, base.data.qpos.shape)
    qvel = base.data.qvel.copy() + rng.normal(0.0, 3.0, base.data.qvel.shape)
    base.set_state(qpos, qvel)
    return base._get_obs()


def _action(space: Any, kind: str, i: int) -> Any:
    if kind != "extreme":
        return space.sample()
    phase = (i // 10) % 2
    if hasattr(space, "high") and hasattr(space, "low"):
        return (space.high if phase else space.low).astype(space.dtype)
    if hasattr(space, "n"):
        return space.start + (space.n - 1 if phase else 0)
    return space.sample()


def run_job(ctx: JobContext) -> dict[str, Any]:
    """Job kind ``"dryrun"``: make the card's env, load the program, probe it on ``steps`` transitions."""
    from autoreward.envs.make import card_state_spec, make_card_env
    from autoreward.tasks import TaskCard

    card = TaskCard.model_validate(ctx.params["card"])
    if ctx.params.get("card_source"):
        card = card.model_copy(update={"source": Path(ctx.params["card_source"])})
    steps = int(ctx.params.get("steps", DEFAULT_STEPS))
    env = make_card_env(card)
    spec = card_state_spec(card, env)
    transitions = list(rollouts(env, spec, steps, int(ctx.params.get("seed", 0))))
    env.close()
    signal.signal(signal.SIGALRM, _on_alarm)
    probe = Probe(ctx.load_program())
    calls = 0
    for index, transition in enumerate(transitions):
        probe.call(transition, index)
        calls += 1
        if probe.stopped or _too_slow(probe, calls):
            break
        if calls % 100 == 0:
            ctx.emit({"stage": "dryrun", "calls": calls, "of": len(transitions)})
    return probe.summary(calls)


def _too_slow(probe: Probe, calls: int) -> bool:
    """Stop early once 25 calls show the program is far over budget: more calls would only cost time."""
    return calls >= 25 and float(np.median(probe.seconds)) * 1000 > 5 * CALL_BUDGET_MS
