"""Successive halving across the candidates of one iteration: compute goes to the ones whose true fitness leads.

Each candidate is judged at rungs (by default 1/9 and 1/3 of its budget with ``factor`` 3; the last rung is the
end of training) on the task's true fitness of the policy it had there. That value is never a number from the
program's process (it controls that process and may forge anything it reports): the worker saves its weights at
the rung and sends a bare trigger; the parent copies the weights out and measures them in a program-free job
(``rungs.py``), as it measures the final fitness. The assessment runs while training goes on (asynchronous).
Optuna's asynchronous ``SuccessiveHalvingPruner`` decides: a candidate continues past a rung only if its value
is in the top ``1/factor`` of the values every candidate reported at that rung so far. There is no barrier per
rung: a pruned candidate's worker stops at once and its core takes the next candidate.

A rung is judged only after ``min_updates`` PPO updates (rollouts of ``n_steps x n_envs`` from the card's
hyper-parameters): before that every policy is close to its random initialisation and the ranking is noise.
Rungs that fall earlier are dropped; when none is left (a budget too small), nothing is pruned and the run says so.

Without a barrier, the first candidates to reach a rung have nobody to trail and Optuna promotes them; on 2 workers
the two that start first would always train to the end. So a candidate past a rung is judged again at each of its
progress checkpoints (``recheck``): by the same rule, against every value reported at that rung since, it stops as
soon as it has fallen out of the rung's top ``1/factor``: asynchronous promotion, with the cut a synchronous
round would have made once the others arrive.

Ties (sparse fitness: every candidate at 0 early on) are broken by a secondary signal, the env's own return over
the same episodes (``builtin_return``; on success-terminating tasks such as MiniGrid it also pays for finishing
sooner), added with a weight too small to reorder distinct fitness values; when the fitness and the env's return
both tie, the values are equal and Optuna's ``>=`` promotes every tied candidate, so a tie alone never prunes.

The same ``Halving`` object decides on both backends: in the parent's process for local workers, and inside one
Ray actor that every node's trainer asks for ``--backend ray``.
"""

from __future__ import annotations

import math
import os
import threading
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

from autoreward.sandbox.run import work_dir
from autoreward.training.models import EventSink, RungReport, TrainResult

RUNG_KEY = "completed_rung_"  # Optuna's system attribute holding a trial's value at the rung it passed
STOP_FILE = "stop"  # its appearance in a training's scratch directory asks the worker to stop (callbacks.py)
RUNGS = 2  # rungs before the end: budget / factor**2, budget / factor, then the end
TIE_WEIGHT = 1e-9  # the secondary signal's weight, relative to the fitness' own scale
MIN_UPDATES = 10  # PPO updates before a rung: enough on DoorKey, too few on Hopper (README "Successive halving")


class HalvingConfig(BaseModel):
    """How candidates are cut: ``factor`` is Optuna's ``reduction_factor`` (keep the top 1/factor per rung)."""

    factor: int = Field(default=3, ge=2)
    rungs: int = Field(default=RUNGS, ge=1)
    min_updates: int = Field(default=MIN_UPDATES, ge=1, description="PPO updates before the first rung")

    def rung_steps(self, total_timesteps: int, rollout: int = 1) -> list[int]:
        """The timesteps at which a candidate reports, rung 0 first (e.g. 1/9 and 1/3 of the budget), leaving
        out rungs before ``min_updates`` rollouts of ``rollout`` steps (``n_steps x n_envs``)."""
        steps = [total_timesteps // self.factor ** (self.rungs - r) for r in range(self.rungs)]
        return sorted({s for s in steps if s >= self.min_updates * rollout and s > 0})

    def placement(self, total_timesteps: int, rollout: int) -> str:
        """One line on the rungs that ``rung_steps`` left out ("" when none was)."""
        kept = self.rung_steps(total_timesteps, rollout)
        if len(kept) == self.rungs:
            return ""
        floor = self.min_updates * rollout
        if not kept:
            return (f"no successive halving: {total_timesteps} steps leave no rung after {self.min_updates} PPO "
                    f"updates ({floor} steps); every candidate trains to the end")  # fmt: skip
        return (f"successive halving judges from {kept[0]} steps on ({self.min_updates} PPO updates = {floor} "
                f"steps): {self.rungs - len(kept)} earlier rung(s) left out")  # fmt: skip


def tie_broken(fitness: float, secondary: float | None) -> float:
    """``fitness`` nudged by ``secondary`` (squashed into (-1, 1)) so that only exact fitness ties reorder."""
    if secondary is None or not math.isfinite(secondary):
        return fitness
    return fitness + TIE_WEIGHT * max(1.0, abs(fitness)) * secondary / (1.0 + abs(secondary))


def promotable(value: float, competing: list[float], factor: int) -> bool:
    """Optuna's promotion rule (``SuccessiveHalvingPruner``, maximising): ``value`` is in the top ``1/factor`` of
    ``competing`` (which includes it), or is the best while fewer than ``factor`` values compete."""
    keep = max(len(competing) // factor, 1)
    return value >= sorted(competing)[-keep]


class Decider(Protocol):
    """What a training's event sink asks: the ``Halving`` itself, or a proxy to the Ray actor holding it."""

    def report(self, candidate_id: str, rung: int, value: float) -> bool: ...

    def recheck(self, candidate_id: str) -> bool: ...


class Halving:
    """Optuna's successive-halving rule over one iteration's candidates; thread-safe (workers report at once)."""

    def __init__(self, config: HalvingConfig | None = None, earlier: list[TrainResult] | None = None) -> None:
        """``earlier``: results already stored for this iteration (a resumed run), whose rung values compete."""
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.config = config or HalvingConfig()
        self.earlier = list(earlier or [])
        pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=self.config.factor)
        self._study = optuna.create_study(direction="maximize", pruner=pruner)
        self._trials: dict[str, Any] = {}
        self._cut: set[str] = set()
        self._lock = threading.Lock()
        for result in earlier or []:
            self._replay(result)

    def report(self, candidate_id: str, rung: int, value: float) -> bool:
        """Record ``candidate_id``'s value at ``rung`` (0-based, below ``config.rungs``); True when it should stop
        here. A rung out of range or a value that is not a finite number is refused (ValueError)."""
        if type(rung) is not int or not 0 <= rung < self.config.rungs:
            raise ValueError(f"rung {rung!r} is not one of the {self.config.rungs} rungs")
        if not isinstance(value, float | int) or not math.isfinite(value):
            raise ValueError(f"a rung's value must be a finite number, not {value!r}")
        with self._lock:
            if candidate_id in self._cut:
                return True
            trial = self._trials.get(candidate_id)
            if trial is None:
                trial = self._trials[candidate_id] = self._study.ask()
            trial.report(value, self.config.factor**rung)
            prune = trial.should_prune()
            if prune:
                self._cut_trial(candidate_id)
            return prune

    def recheck(self, candidate_id: str) -> bool:
        """Whether ``candidate_id``, training on past its last rung, has fallen out of that rung's top ``1/factor``
        since it passed (others reported there after it; at least ``factor`` values); True cuts it."""
        with self._lock:
            trial = self._trials.get(candidate_id)
            if trial is None or candidate_id in self._cut:
                return False
            trials = self._study.get_trials(deepcopy=False)
            mine = next(t for t in trials if t.number == trial.number).system_attrs
            passed = [int(key.removeprefix(RUNG_KEY)) for key in mine if key.startswith(RUNG_KEY)]
            if not passed:
                return False
            key = f"{RUNG_KEY}{max(passed)}"
            competing = [t.system_attrs[key] for t in trials if key in t.system_attrs]
            if len(competing) < self.config.factor or promotable(mine[key], competing, self.config.factor):
                return False  # fewer values than the factor: Optuna's best-so-far fallback, too early to cut on
            self._cut_trial(candidate_id)
            return True

    def _cut_trial(self, candidate_id: str) -> None:
        self._study.tell(self._trials[candidate_id], state=_pruned_state())
        self._cut.add(candidate_id)

    def _replay(self, result: TrainResult) -> None:
        """A stored result's rung values, as a finished trial, so that a resumed iteration judges alike."""
        import optuna

        valid = [r for r in result.rungs if r.rung < self.config.rungs and math.isfinite(r.value)]
        values = {self.config.factor**r.rung: r.value for r in valid}
        if not values:
            return
        attrs = {f"{RUNG_KEY}{r.rung}": r.value for r in valid}
        last = values[max(values)]
        state = _pruned_state() if result.status == "pruned" else optuna.trial.TrialState.COMPLETE
        trial = optuna.trial.create_trial(
            state=state, value=None if state == _pruned_state() else last, intermediate_values=values,
            system_attrs=attrs,
        )  # fmt: skip
        self._study.add_trial(trial)


def _pruned_state() -> Any:
    import optuna

    return optuna.trial.TrialState.PRUNED


def request_stop(scratch: Path) -> None:
    """Ask the training in ``scratch`` to stop: create the stop file in the directory its worker sees (the
    sandbox's fresh one while it runs), never following a link the worker left."""
    path = (work_dir(scratch) or Path(scratch)) / STOP_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return  # already asked (or the worker made one itself: it only stops itself)
    os.close(fd)


class PruneLedger:
    """Which candidates were pruned, from the ``pruned`` events either backend passes to the parent."""

    def __init__(self) -> None:
        self._pruned: dict[str, RungReport] = {}
        self._lock = threading.Lock()

    def watch(self, candidate_id: str, on_event: EventSink | None) -> EventSink:
        def sink(event: dict[str, Any]) -> None:
            if event.get("event") == "pruned":
                with self._lock:
                    self._pruned[candidate_id] = RungReport.model_validate(event["report"])
            if on_event is not None:
                on_event(event)

        return sink

    def mark(self, result: TrainResult) -> TrainResult:
        """The result as pruned when it was (even if its worker reached the end before it saw the stop)."""
        with self._lock:
            report = self._pruned.get(result.candidate_id)
        if report is None or result.status == "failed":
            return result
        return result.model_copy(update={"status": "pruned", "pruned": report, "evaluation": None})
