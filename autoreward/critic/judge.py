"""The dry run's verdict, decided from numbers alone, in a process that never loads the program.

The program's process answers each dry-run state with plain numbers (``Answer``); the checker times the answers
on its own clock and applies the reward contract (autoreward.reward), the magnitude, speed, balance and
direction checks here. Nothing the program does in its own process (patching ``math.isfinite`` or
``np.median``, walking frames) reaches this code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, Field

from autoreward.critic.rollouts import GOAL_STAGE
from autoreward.critic.verdict import Reason
from autoreward.reward import bad_name, value_problem

CALL_BUDGET_MS = 1.0  # median cost per call above which training would slow down markedly (a PPO step ~0.6 ms)
CALL_TIMEOUT_S = 1.0  # one call longer than this is a hang
TRIMMED_SHARE = 0.9  # the per-call mean is taken over the fastest 90% of calls
LOAD_BUDGET_S = 2.0  # loading the program (its top-level code) may take this long on top of the calls' budget
MAX_MAGNITUDE = 1e6  # PPO's value loss diverges to NaN on rewards this large
DOMINANT_SHARE = 0.95
DIRECTION_MIN_STEPS = 30
DIRECTION_THRESHOLD = -0.25  # Pearson correlation of reward and fitness increments below this: a likely sign error
MAX_COMPONENTS = 64
IDLE_MIN_STEPS = 10  # standing-still transitions needed before the waiting check speaks
IDLE_TOLERANCE = 1e-6
LINGER_SHARE = 0.9  # where nothing stands still, random steps this often paid a positive reward: pay for lingering
MIN_WAY = 3  # steps on the way to a milestone before its silence counts: two turns face any way in MiniGrid


class Failure(BaseModel):
    """A call that raised, or returned something the program's side could not turn into numbers."""

    kind: str = Field(max_length=40)  # "raised" or "contract"
    message: str = Field(max_length=4000)
    line: int | None = None


class Answer(BaseModel):
    """What the program's process says about one call: numbers, or a failure (bounded on arrival)."""

    answer: int
    total: float | None = None
    components: dict[str, float] = Field(default_factory=dict, max_length=MAX_COMPONENTS)
    failure: Failure | None = None
    line: int | None = Field(default=None, description="the program's line of a non-finite value, a hint")


@dataclass
class Evidence:
    """Everything the checker observed: the answers in order, when each arrived, and the rollouts' facts."""

    expected: int
    rollouts: list[str]
    fitness: np.ndarray  # per-transition fitness increment; NaN where the fitness has none
    answers: list[Answer] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # checker's clock, seconds
    ready_at: float | None = None
    loading_at: float | None = None  # when the worker began loading the program (before any program code ran)
    protocol: str | None = None  # how the program's process broke the protocol, if it did
    idle: np.ndarray | None = None  # per transition: True where no State field changed (the agent stood still)
    ends_on_success: bool = False  # the card's goal ends the episode: pay for waiting and a policy never finishes
    stage: np.ndarray | None = None  # per transition: its demonstration stage, -1 outside the demonstration
    still: np.ndarray | None = None  # per demonstration step: its standing-still counterpart's index (else -1)
    stages: list[str] = field(default_factory=list)  # what ends each stage, e.g. 'carrying["key"] 0 -> 1'
    discount: float | None = None  # the training's (PPO's gamma): what waiting is worth to it, against finishing


def judge(ev: Evidence, *, finished: bool = True) -> list[Reason]:
    """The dry run's reasons: errors reject the program, warnings travel with it to the Designer.
    ``finished``: the program's job ended normally (else the sandbox's own reason explains the end)."""
    out: list[Reason] = []
    if ev.protocol:
        out.append(_error(f"the program's process broke the checker's protocol: {ev.protocol}"))
    numeric = [a for a in ev.answers if a.failure is None]
    failed = next((a for a in ev.answers if a.failure is not None), None)
    if failed is not None:
        out.append(_failure(failed, ev))
    out += _contract(numeric, ev)
    out += _speed(ev)
    if not out and finished and len(ev.answers) < ev.expected:
        out.append(_error(f"the program's process stopped answering after {len(ev.answers)} of {ev.expected} calls"))
    if not any(r.severity == "error" for r in out) and len(numeric) > 1:
        out += _balance(numeric)
        out += _direction(numeric, ev)
        out += _waiting(numeric, ev)
        out += _demonstration(numeric, ev)
    return out


def _error(message: str, line: int | None = None) -> Reason:
    return Reason(stage="dryrun", severity="error", message=message, line=line)


def _warning(message: str) -> Reason:
    return Reason(stage="dryrun", severity="warning", message=message)


def _where(index: int, ev: Evidence) -> str:
    return f"step {index}, {_rollout(index, ev)} rollout"


def _failure(answer: Answer, ev: Evidence) -> Reason:
    failure = answer.failure
    assert failure is not None
    if failure.kind == "raised":
        return _error(f"compute_reward raised {failure.message} on {_where(answer.answer, ev)}", failure.line)
    return _error(failure.message, failure.line)


def _contract(answers: list[Answer], ev: Evidence) -> list[Reason]:
    """The reward contract and the magnitude bound, counted over all answers, one reason per kind."""
    seen: dict[str, tuple[int, str, int | None]] = {}
    for a in answers:
        found: list[tuple[str, str]] = []
        names = [why for why in map(bad_name, a.components) if why]
        if names:
            found.append(("name", names[0]))
        if a.total is None:
            found.append(("shape", "the answer has no total"))
        else:
            problem = value_problem(a.total, a.components)
            if problem is not None:
                found.append(problem)
            elif max([abs(a.total), *map(abs, a.components.values())]) > MAX_MAGNITUDE:
                found.append(("magnitude", f"total={a.total:.4g}"))
        for kind, example in found:
            count, first, line = seen.get(kind, (0, f"{example} ({_where(a.answer, ev)})", a.line))
            seen[kind] = (count + 1, first, line)
    texts = {
        "nonfinite": "the reward is NaN or infinite on {n} of {calls} states, e.g. {example}",
        "sum": "the components do not sum to the total on {n} of {calls} states: {example}",
        "name": "{example}",
        "shape": "compute_reward must return (total, components): {example}",
        "magnitude": (
            f"the reward's magnitude exceeds {MAX_MAGNITUDE:g} on {{n}} of {{calls}} states, e.g. {{example}}: PPO "
            "diverges on rewards this large; scale the terms down"
        ),
    }
    return [
        _error(texts[kind].format(n=n, calls=len(answers), example=example), line if kind == "nonfinite" else None)
        for kind, (n, example, line) in seen.items()
    ]


def _speed(ev: Evidence) -> list[Reason]:
    """Per-call cost from the arrival times on the checker's clock (the program cannot stop that clock)."""
    if ev.ready_at is None or not ev.arrivals:
        return []
    gaps = np.diff([ev.ready_at, *ev.arrivals])
    slowest = float(gaps.max())
    if slowest > CALL_TIMEOUT_S:
        index = int(gaps.argmax())
        return [_error(f"too slow or never returns: one call took {slowest:.1f} s ({_where(index, ev)})")]
    # The median alone passes a program slow on every other call: the mean of the fastest TRIMMED_SHARE of the
    # calls (the slowest hold the pipe's and the scheduler's stalls) catches it; the total with the load catches
    # a program slow on a few calls or at load time.
    fastest = np.sort(gaps)[: max(1, int(len(gaps) * TRIMMED_SHARE))]
    for how, per_call in (("median", float(np.median(gaps))), ("mean", float(np.mean(fastest)))):
        if per_call * 1000 > CALL_BUDGET_MS:
            return [
                _error(
                    f"compute_reward takes {per_call * 1000:.2f} ms per call ({how}), over the budget of "
                    f"{CALL_BUDGET_MS:g} ms; training calls it every step: vectorise it or drop loops"
                )
            ]
    load = ev.ready_at - ev.loading_at if ev.loading_at is not None else 0.0
    total, budget = load + float(gaps.sum()), len(gaps) * CALL_BUDGET_MS / 1000 + LOAD_BUDGET_S
    if total > budget:
        return [
            _error(
                f"loading the program and its {len(gaps)} dry-run calls took {total:.1f} s in all (loading "
                f"{load:.1f} s), over the budget of {budget:.1f} s; compute at each call, cheaply, not at load time"
            )
        ]
    return []


def per_call_seconds(ev: Evidence) -> float:
    """Median seconds between answers, as the checker measured them."""
    if ev.ready_at is None or not ev.arrivals:
        return 0.0
    return float(np.median(np.diff([ev.ready_at, *ev.arrivals])))


def _balance(answers: list[Answer]) -> list[Reason]:
    """Warnings: a reward with no variance gives no signal; one dominated by a term ignores the others."""
    out: list[Reason] = []
    totals = np.array([a.total for a in answers], dtype=np.float64)
    if float(np.std(totals)) < 1e-9:
        out.append(
            _warning(
                f"the total reward is constant ({totals[0]:.6g}) on all {len(totals)} states: it gives the "
                "policy no signal"
            )
        )
    scale: dict[str, float] = {}
    for a in answers:
        for name, v in a.components.items():
            scale[name] = scale.get(name, 0.0) + abs(v) / len(answers)
    whole = sum(scale.values())
    if len(scale) >= 2 and whole > 0:
        name, biggest = max(scale.items(), key=lambda kv: kv[1])
        if biggest / whole > DOMINANT_SHARE:
            out.append(
                _warning(
                    f"component {name!r} is {100 * biggest / whole:.0f}% of the reward's magnitude; the other "
                    "terms barely matter: rescale them"
                )
            )
    return out


def _direction(answers: list[Answer], ev: Evidence) -> list[Reason]:
    """A warning when the reward falls where the task's fitness rises, on the dry run's own transitions."""
    pairs = [(a, float(ev.fitness[a.answer])) for a in answers if 0 <= a.answer < len(ev.fitness)]
    pairs = [(a, f) for a, f in pairs if math.isfinite(f)]
    if len(pairs) < DIRECTION_MIN_STEPS:
        return []
    increments = np.array([f for _, f in pairs])
    r = _correlation(np.array([a.total for a, _ in pairs], dtype=np.float64), increments)
    if r is None or r >= DIRECTION_THRESHOLD:
        return []
    names = sorted({name for a, _ in pairs for name in a.components})
    worst = min(
        ((name, _correlation(np.array([a.components.get(name, 0.0) for a, _ in pairs]), increments)) for name in names),
        key=lambda kv: kv[1] if kv[1] is not None else 1.0,
        default=(None, None),
    )
    hint = f"; most of all component {worst[0]!r} (r = {worst[1]:.2f})" if worst[1] is not None and worst[1] < 0 else ""
    return [
        _warning(
            f"the reward falls where the task's fitness rises: correlation r = {r:.2f} between the reward and the "
            f"fitness's per-step increments over {len(pairs)} dry-run steps{hint}; check the signs of the terms"
        )
    ]


def _waiting(answers: list[Answer], ev: Evidence) -> list[Reason]:
    """An error when the goal ends the episode and the reward pays for standing still more than for finishing.
    On the solving paths (``_waiting_on_paths``) that is judged as PPO values it, discounted; without them, any
    positive pay per step waited (the classic trap of level-based shaping)."""
    if not ev.ends_on_success or ev.idle is None:
        return []
    judged = _waiting_on_paths(answers, ev)
    if judged is not None:
        return judged
    idle = [a.total for a in answers if 0 <= a.answer < len(ev.idle) and ev.idle[a.answer]]
    if len(idle) < IDLE_MIN_STEPS:
        return _lingering(answers, ev)
    paid = float(np.mean(idle))
    if paid <= IDLE_TOLERANCE:
        return []
    return [
        _error(
            f"the reward pays {paid:+.3g} per step on average while nothing changes ({len(idle)} dry-run steps where "
            "the agent stood still); reaching the goal ends the episode, so a policy paid for waiting learns never to "
            "finish: pay progress as a change between prev and state (e.g. potential(state) - potential(prev)) "
            "and at most a small negative cost per step"
        )
    ]


def _waiting_on_paths(answers: list[Answer], ev: Evidence) -> list[Reason] | None:
    """Waiting against finishing, as PPO (discount ``g``) values them, from every place on a solving path: standing
    still forever there is worth ``w / (1 - g)`` (SB3 bootstraps at the time limit, so the horizon does not end
    it), finishing the discounted sum of the path's rewards from there. A discounted potential difference pays
    ``(g - 1) * potential`` per step waited, positive where the potential is negative, yet waiting never beats
    finishing under it: that is sound shaping, which the per-step rule rejected. None: no path to judge on."""
    if ev.discount is None or ev.stage is None or ev.still is None or not ev.stages:
        return None
    totals = {a.answer: a.total for a in answers if a.total is not None}
    paths = _paths(ev)
    if not paths or any(i not in totals or int(ev.still[i]) not in totals for path in paths for i in path):
        return None
    worst: tuple[float, float, float, int, int] | None = None
    for path in paths:
        finishing = 0.0
        for place, i in reversed(list(enumerate(path))):
            finishing = totals[i] + ev.discount * finishing
            paid = totals[int(ev.still[i])]
            waiting = paid / (1.0 - ev.discount)
            if (
                paid > IDLE_TOLERANCE
                and waiting > finishing + IDLE_TOLERANCE
                and (worst is None or waiting - finishing > worst[1] - worst[2])
            ):
                worst = (paid, waiting, finishing, place, len(path))
    if worst is None:
        return []
    paid, waiting, finishing, place, steps = worst
    return [
        _error(
            f"the reward pays {paid:+.3g} per step for standing still: on a solving path the dry run found by search "
            f"({steps} steps), waiting at step {place} is worth {waiting:+.3g} to PPO (discount {ev.discount:g}), "
            f"more than finishing from there ({finishing:+.3g}); reaching the goal ends the episode, so it learns "
            "never to finish: pay progress as a change between prev and state (e.g. "
            f"{ev.discount:g} * potential(state) - potential(prev), the potential highest at the goal) and at most a "
            "small negative cost per step"
        )
    ]


def _paths(ev: Evidence) -> list[list[int]]:
    """The demonstration's transitions split into its solving paths (each ends with the stage that reaches the
    goal), in order."""
    assert ev.stage is not None
    paths: list[list[int]] = [[]]
    shown = [int(i) for i in np.flatnonzero(ev.stage >= 0)]
    for n, i in enumerate(shown):
        paths[-1].append(i)
        stage = int(ev.stage[i])
        last_of_stage = n + 1 == len(shown) or int(ev.stage[shown[n + 1]]) != stage
        if last_of_stage and stage < len(ev.stages) and ev.stages[stage].endswith(GOAL_STAGE):
            paths.append([])
    return [p for p in paths if p]


def _lingering(answers: list[Answer], ev: Evidence) -> list[Reason]:
    """Where the dynamics never stand still (Acrobot swings on), the waiting check's stand-in: random play, which
    almost never reaches the goal, earning a positive reward on nearly every step. A potential's difference is
    positive about as often as negative; a height or ``1 - error`` paid per step is always positive, and on
    Acrobot such programs trained to hold the tip below the bar for all 500 steps."""
    paid = [a.total for a in answers if a.total is not None and _rollout(a.answer, ev) == "random"]
    if len(paid) < IDLE_MIN_STEPS:
        return []
    share = float(np.mean([total > IDLE_TOLERANCE for total in paid]))
    if share < LINGER_SHARE:
        return []
    return [
        _error(
            f"the reward is positive on {share:.0%} of {len(paid)} random dry-run steps (mean {np.mean(paid):+.3g}), "
            "which pays a policy for every step it has not finished yet; reaching the goal ends the episode, so it "
            "learns never to finish: pay progress as a change between prev and state and add a small negative cost "
            "per step"
        )
    ]


def _rollout(index: int, ev: Evidence) -> str:
    return ev.rollouts[index] if 0 <= index < len(ev.rollouts) else "?"


def _demonstration(answers: list[Answer], ev: Evidence) -> list[Reason]:
    """An error when the reward does not pay the way a solving path (found by search, program-free) takes,
    compared with not moving from the same States: a stage, or the way to its milestone, earns less (the reward
    punishes that stage's progress: a sign error, a stage that keeps the previous target, a distance paid for
    growing), or the ways to a milestone earn no more over all the paths (that stage is as sparse as the task;
    judged on ways of ``MIN_WAY`` steps or more, which must move the agent, not just turn it)."""
    if ev.stage is None or ev.still is None or not ev.stages:
        return []
    totals = {a.answer: a.total for a in answers if a.total is not None}
    staged = len(set(ev.stages)) > 1  # milestones before the goal: the hint is about choosing each stage's target
    ways: dict[str, list[int]] = {}
    for number, name in enumerate(ev.stages):
        steps = [int(i) for i in np.flatnonzero(ev.stage == number)]
        if not steps or any(i not in totals or int(ev.still[i]) not in totals for i in steps):
            return []  # not answered to the end: the other checks say why
        for part, what in ((steps[:-1], f"the {len(steps) - 1} steps on the way to {name} (before it is reached)"),
                           (steps, f"the {len(steps)} steps that end with {name}")):  # fmt: skip
            earned, waiting = _earned(part, totals, ev.still)
            if part and earned < waiting - IDLE_TOLERANCE * len(part):
                return [_punished(what, earned, waiting, staged)]
        if len(steps) - 1 >= MIN_WAY:
            ways.setdefault(name, []).extend(steps[:-1])
    for name, steps in ways.items():
        earned, waiting = _earned(steps, totals, ev.still)
        if steps and earned <= waiting + IDLE_TOLERANCE * len(steps):
            return [_silent(name, len(steps), earned, waiting, staged)]
    return []


def _earned(steps: list[int], totals: dict[int, float], still: np.ndarray) -> tuple[float, float]:
    """What the program paid on ``steps``, and on their standing-still counterparts."""
    return sum(totals[i] for i in steps), sum(totals[int(still[i])] for i in steps)


def _silent(name: str, steps: int, earned: float, waiting: float, staged: bool) -> Reason:
    fix = (
        "make that stage's potential rise as the agent nears the stage's own target (its distance, chosen by the "
        "stage's flag)"
        if staged
        else "make the potential rise as the agent nears the goal (e.g. minus its distance)"
    )
    return _error(
        f"the reward gives no signal on the way to {name}: on the solving paths the dry run found by search, the "
        f"{steps} steps before it is reached earn {earned:+.3g} in all, no more than not moving from the same places "
        f"({waiting:+.3g}); {fix}"
    )


def _punished(what: str, earned: float, waiting: float, staged: bool) -> Reason:
    fix = (
        "in that stage the potential must rise as the agent nears the stage's own target: check which target the "
        "stage measures (its flag, not a distance, should decide it) and the sign of each term"
        if staged
        else "the potential must rise as the agent nears the goal: check the sign of each term (a distance enters "
        "it with a minus)"
    )
    return _error(
        f"the reward punishes progress: on a solving path the dry run found by search, {what} earn {earned:+.3g} in "
        f"all, less than not moving from the same places ({waiting:+.3g}); {fix}"
    )


def _correlation(x: np.ndarray, y: np.ndarray) -> float | None:
    if float(np.std(x)) < 1e-12 or float(np.std(y)) < 1e-12:
        return None
    return float(np.corrcoef(x, y)[0, 1])
