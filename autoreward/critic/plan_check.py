"""A plan, checked before any program is written, with the dry run's own rollouts and judge.

A plan is data (field names and directions), never code: its potential is computed here, in this process, from
the program-free rollouts (``critic.rollouts``), as the staged skeleton would compute it (each stage ended worth
its weight, minus the current stage's progress measure), and its shaped reward goes through the same judge as a
program's answers. Where the env's suite can search (solving paths), the potential must rise along them and never
pay for standing still; elsewhere its direction must agree with the task's fitness on the rollouts. The solving
paths also yield a plan by themselves (``mine_plan``): which State fields change along them, in what order.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

import numpy as np

from autoreward.critic.dryrun import DEFAULT_STEPS, Rollouts, card_rollouts
from autoreward.critic.judge import Answer, Evidence, judge
from autoreward.critic.rollouts import CLOCK_FIELDS, GOAL_STAGE
from autoreward.llm import CallRecord, LLMUnavailable
from autoreward.plan import Plan, distinct, plans_from
from autoreward.subgoals import Subgoal
from autoreward.tasks import TaskCard

DISTANCE_SCALE = 0.1  # the staged skeleton's `reached - 0.1 * distance`
PROGRESS_SCALE = 10.0  # and its `10.0 * (potential difference)`
TIME_COST = -0.01
MIN_MONOTONE = 0.8  # a mined stage's measure moves the right way on at least this share of its changes, net
WRAP_SHARE = 0.1  # a heading wraps around on at least this share of its changes (a random walk: about a quarter)
_CHANGE = re.compile(r"^(?P<field>.+) (?P<before>-?[0-9.e+-]+) -> (?P<after>-?[0-9.e+-]+)$")


def plan_rollouts(card: TaskCard, steps: int = DEFAULT_STEPS) -> Rollouts:
    """The dry run's rollouts for ``card`` (made once per card; every program's check reads the same)."""
    return card_rollouts(card.model_dump_json(), str(card.source or ""), steps)


class Columns:
    """Each plain (scalar) State value of the rollouts as one column over their States, by the name a plan uses."""

    def __init__(self, data: Rollouts) -> None:
        self.data = data
        self.columns: dict[str, np.ndarray] = {}
        for i, entry in enumerate(data.layout):
            column = np.asarray(data.arrays[f"field_{i}"], dtype=np.float64)
            if entry["kind"] == "scalar":
                self.columns[entry["name"]] = column
            elif entry["kind"] == "named" and column.ndim == 2:
                for k, key in enumerate(entry["keys"]):
                    self.columns[f'{entry["name"]}["{key}"]'] = column[:, k]

    def before(self, name: str) -> np.ndarray:
        return self.columns[name][self.data.arrays["prev"]]

    def after(self, name: str) -> np.ndarray:
        return self.columns[name][self.data.arrays["state"]]


def check_plan(
    plan: Plan, data: Rollouts, *, ends_on_success: bool, discount: float | None, terminates: bool = False
) -> list[str]:
    """Why ``plan`` is rejected (nothing: accepted). ``discount``: the training's, as the skeleton discounts the
    potential difference (none where failing ends the episode: ``terminates``)."""
    columns = Columns(data)
    missing = [n for s in plan.stages for n in (s.ends_when, s.progress) if n and n not in columns.columns]
    if missing:
        return [f"{missing[0]} is not a plain State value of this env"]
    gamma = 1.0 if terminates or discount is None else discount
    shaped = PROGRESS_SCALE * (gamma * potential(plan.stages, columns.after) - potential(plan.stages, columns.before))
    totals = shaped + TIME_COST
    answers = [
        Answer(answer=i, total=float(t), components={"progress": float(p), "time": TIME_COST})
        for i, (t, p) in enumerate(zip(totals, shaped, strict=True))
    ]
    arrays = data.arrays
    evidence = Evidence(
        expected=len(answers), rollouts=data.kinds, fitness=arrays["fitness"], answers=answers, idle=data.idle,
        ends_on_success=ends_on_success, stage=arrays["stage"], still=arrays["still"], stages=data.stages,
        discount=None if terminates else discount,
    )  # fmt: skip
    reasons = judge(evidence)
    kept = [r for r in reasons if r.severity == "error" or "falls where the task's fitness rises" in r.message]
    return [r.message.replace("the reward", "the plan's potential", 1) for r in kept]


def potential(stages: Sequence[Subgoal], read: Callable[[str], np.ndarray]) -> np.ndarray:
    """The staged skeleton's potential over many States at once: each stage ended (its flag risen, or fallen)
    weighs its number, a stage counts as ended once a later one is, and the first unfinished stage's progress
    measure is subtracted (``DISTANCE_SCALE`` times a distance; a count that grows is negated). ``read(name)``:
    one State value's column."""
    flags = [s.ends_when for s in stages if s.ends_when]
    rising = [_rising(read(s.ends_when), s.ends) for s in stages if s.ends_when]
    ended = [np.max(rising[i:], axis=0) for i in range(len(rising))]
    targets = dict.fromkeys(s.progress for s in stages if s.progress and s.progress not in flags)
    grows = {s.progress for s in stages if s.direction == "grows"}
    measures = [-read(t) if t in grows else read(t) for t in targets]
    if not flags:
        return -np.sum(measures, axis=0)
    reached = np.sum([(i + 1) * e for i, e in enumerate(ended)], axis=0)
    if not measures:
        return reached
    distance = measures[-1]
    for i in reversed(range(min(len(measures) - 1, len(ended)))):
        distance = np.where(ended[i] < 1, measures[i], distance)
    return reached - DISTANCE_SCALE * distance


def _rising(column: np.ndarray, ends: str) -> np.ndarray:
    return np.clip(column if ends == "rises" else 1.0 - column, 0.0, 1.0)


def mine_plan(data: Rollouts) -> Plan | None:
    """A plan read off the solving paths: the milestones every path passes, in order (what ends each stage), and
    for each stage the State value that moves most steadily one way on its steps (its progress). None where the
    env's suite cannot search."""
    paths = _paths(data)
    if not paths:
        return None
    common: list[str] = []
    for m, _ in paths[0][0]:  # in every path; of milestones reached on one step (a door unlocked and opened), the first
        if all(m in first for _, first, _ in paths[1:]) and all(
            first[m] != first.get(c) for c in common[-1:] for _, first, _ in paths
        ):
            common.append(m)
    rises = dict(paths[0][0])
    columns = Columns(data)
    stage = data.arrays["stage"]
    stages: list[Subgoal] = []
    for k in range(len(common) + 1):
        segments = []
        for _, first, steps in paths:
            low = first[common[k - 1]] if k else -1
            high = first[common[k]] if k < len(common) else int(stage[steps[-1]])
            segments.append([i for i in steps if low < int(stage[i]) <= high])
        progress, direction = _steadiest(columns, segments, exclude=set(common))
        if k < len(common):
            ends = "rises" if rises[common[k]] else "falls"
            stages.append(Subgoal(ends_when=common[k], ends=ends, progress=progress, direction=direction))
        elif progress is not None:
            stages.append(Subgoal(progress=progress, direction=direction))
    return Plan(stages=stages, origin="mined") if stages else None


def _paths(data: Rollouts) -> list[tuple[list[tuple[str, bool]], dict[str, int], list[int]]]:
    """Per solving path: its milestones in order (field, whether it rose), the stage number where each first
    changed, and the path's transitions."""
    stage = data.arrays["stage"]
    out: list[tuple[list[tuple[str, bool]], dict[str, int], list[int]]] = []
    milestones: list[tuple[str, bool]] = []
    first: dict[str, int] = {}
    start = 0
    for number, name in enumerate(data.stages):
        for change in name.split(", "):
            found = _CHANGE.match(change)
            if found and found["field"] not in first:
                first[found["field"]] = number
                milestones.append((found["field"], float(found["after"]) > float(found["before"])))
        if name.endswith(GOAL_STAGE):
            steps = [int(i) for i in np.flatnonzero((stage >= start) & (stage <= number))]
            if steps:
                out.append((milestones, first, steps))
            milestones, first, start = [], {}, number + 1
    return out


def _steadiest(columns: Columns, segments: list[list[int]], exclude: set[str]) -> tuple[str | None, str | None]:
    """The State value that measures a stage best, and its way (``shrinks``/``grows``): over all ``segments``
    (each one path's steps of the stage, the last one reaching its milestone) its changes on the way are
    monotone, nearly all the right way, on as many of the walking steps as possible, and where the milestone
    is reached it is at an extreme it rarely takes elsewhere (a distance to the stage's target is smallest
    there). Only graded values that walking changes qualify: a flag (two values) marks a milestone, not the
    way to it, and a heading (a value that wraps around) measures turning, which a short path does a lot of and
    which leads nowhere; its steps do not count. None where nothing moves steadily enough."""
    segments = [segment for segment in segments if segment]
    if not segments:
        return None, None
    turning = _turning(columns)
    best: tuple[float, str, str] | None = None
    for name in columns.columns:
        if name in exclude or name.partition("[")[0] in CLOCK_FIELDS:
            continue
        everywhere = columns.columns[name]
        if len(np.unique(everywhere)) <= 2 or _wraps(columns, name):
            continue
        walked = [np.asarray([i for i in segment if not turning[i]], dtype=int) for segment in segments]
        moved = sum(int(np.count_nonzero(columns.after(name)[w] != columns.before(name)[w])) for w in walked)
        if moved == 0:
            continue
        for sign, direction in ((1.0, "shrinks"), (-1.0, "grows")):
            right = wrong = 0
            rarity = []
            for segment, steps in zip(segments, walked, strict=True):
                change = sign * (columns.after(name)[steps] - columns.before(name)[steps])
                right, wrong = right + int(np.sum(change < 0)), wrong + int(np.sum(change > 0))
                reached = sign * columns.before(name)[segment[-1]]
                rarity.append(float(np.mean(sign * everywhere < reached)))
            steadiness = (right - wrong) / (right + wrong)
            coverage = right / max(sum(len(w) for w in walked), 1)  # a distance moves on every step towards it
            score = steadiness + coverage - float(np.mean(rarity))
            if steadiness >= MIN_MONOTONE and (best is None or score > best[0]):
                best = (score, name, direction)
    return (best[1], best[2]) if best else (None, None)


def _wraps(columns: Columns, name: str) -> bool:
    """Whether a graded State value (three values or more) moves round a cycle on the rollouts: every change is
    one step or a wrap around its whole range, and it wraps both ways on a good share of them: a heading (a
    value that jumps from a sentinel such as -1 when a way opens is not one)."""
    if name.partition("[")[0] in CLOCK_FIELDS or len(np.unique(columns.columns[name])) <= 2:
        return False
    change = columns.after(name) - columns.before(name)
    change = change[change != 0]
    span = float(np.ptp(columns.columns[name]))
    if not len(change) or float(np.median(np.abs(change))) >= span:
        return False
    size = np.abs(change)
    wraps, steps = np.isclose(size, span), np.isclose(size, np.min(size))
    both = bool(np.any(np.isclose(change, span))) and bool(np.any(np.isclose(change, -span)))
    return both and float(np.mean(wraps)) >= WRAP_SHARE and bool(np.all(wraps | steps))


def _turning(columns: Columns) -> np.ndarray:
    """Per transition, whether a heading changed on it (False everywhere where the State has no heading)."""
    headings = [name for name in columns.columns if _wraps(columns, name)]
    turned = np.zeros(len(columns.data.arrays["prev"]), dtype=bool)
    for name in headings:
        turned |= columns.after(name) != columns.before(name)
    return turned


def find_plans(
    card: TaskCard,
    names: list[str],
    ask: Callable[[list[Plan]], CallRecord] | None,
    *,
    discount: float | None,
    terminates: bool = False,
) -> tuple[list[Plan], list[str]]:
    """Every plan considered for ``card``, checked, in order of preference, and why LLM answers held none. The
    card's own sub-goals come first (a hint, checked like the rest): accepted, nothing is asked. Otherwise
    ``ask(offered)`` (the recorded LLM call; None: no LLM, the mined plan alone) gets the plan mined from the
    solving paths to keep or improve, only where it passed its own check (a small model copies what it is shown,
    rejected or not); the mined one is the fallback when every answer fails."""
    data = plan_rollouts(card)
    check = functools.partial(_checked, data=data, card=card, discount=discount, terminates=terminates)
    own = [check(Plan(stages=card.subgoals, origin="card"))] if card.subgoals else []
    if any(p.accepted for p in own):
        return own, []
    mined = [check(m) for m in [mine_plan(data)] if m is not None]
    answered, problems = [], []
    if ask is not None:
        try:
            answered, problems = plans_from(ask([m for m in mined if m.accepted]), names)
        except LLMUnavailable as err:  # the mined plan still stands
            problems = [f"the plan request failed: {err}"]
    fresh = distinct([*answered, *mined])
    return own + [p if p.checked else check(p) for p in fresh if p.key not in {o.key for o in own}], problems


def _checked(plan: Plan, *, data: Rollouts, card: TaskCard, discount: float | None, terminates: bool) -> Plan:
    reasons = check_plan(plan, data, ends_on_success=card.ends_on_success, discount=discount, terminates=terminates)
    return plan.model_copy(update={"checked": True, "reasons": reasons})
