"""Critic stage 2: the program on real states of the real env, before any training, judged from outside.

Three processes, one direction of trust. A program-free job rolls the env out (``autoreward.critic.rollouts``);
the program's sandboxed job (``run_job``, kind ``"dryrun"``) rebuilds those States, calls ``compute_reward`` on
every transition and answers each call with plain numbers on its event channel; this process, which never loads
the program, times the answers on its own clock and decides the verdict (``autoreward.critic.judge``). What
the program does inside its own process (patching ``math.isfinite``, walking frames) changes only its own
answers, never the checks.
"""

from __future__ import annotations

import errno
import functools
import signal
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import ValidationError

from autoreward.critic.behaviour import fingerprint
from autoreward.critic.judge import CALL_BUDGET_MS, CALL_TIMEOUT_S, Answer, Evidence, judge
from autoreward.critic.rollouts import CLOCK_FIELDS, ROLLOUTS_FILE, decode, read_npz, rollouts, write_npz
from autoreward.critic.verdict import Reason
from autoreward.envs.fitness import captured_names
from autoreward.envs.make import card_folders
from autoreward.reward import (
    ContractError,
    RewardProgramError,
    bad_name,
    locate_nonfinite,
    names_read,
    program_line,
    to_numbers,
    value_problem,
)
from autoreward.sandbox.jobs import Job
from autoreward.sandbox.limits import Limits
from autoreward.sandbox.run import run_in_sandbox

if TYPE_CHECKING:
    from autoreward.sandbox.jobs import JobContext
    from autoreward.sandbox.report import SandboxReport
    from autoreward.tasks import TaskCard

DEFAULT_STEPS = 300
DEFAULT_DISCOUNT = 0.99  # SB3 PPO's; the loop passes its training's own
INPUT_FILE = "dryrun-input.npz"
ENTRY_POINT = "autoreward.critic.dryrun:run_job"
ROLLOUT_ENTRY_POINT = "autoreward.critic.rollouts:run_job"
PROGRESS_EVERY = 100


# --- the checker (this process) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rollouts:
    """The dry run's transitions as plain arrays, with the fitness's per-step increments, which transitions
    stood still (computed once per card: every program's check reads them) and the demonstration's stages."""

    layout: list[dict[str, Any]]
    kinds: list[str]
    arrays: dict[str, np.ndarray]
    idle: np.ndarray
    stages: list[str]


@dataclass
class Observed:
    """What the checker saw of a program's answers besides its reasons: the identifier component names they
    carried and their behaviour's fingerprint (``autoreward.critic.behaviour``; None: not all answers were numbers)."""

    names: set[str] = field(default_factory=set)
    behaviour: str | None = None


def dry_run(
    source: str,
    card: TaskCard,
    *,
    steps: int = DEFAULT_STEPS,
    limits: Limits | None = None,
    scratch: Path | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    discount: float = DEFAULT_DISCOUNT,
    observed: Observed | None = None,
) -> list[Reason]:
    """The dry run's reasons for ``source`` on ``card``'s env (an empty list: nothing to object to);
    ``discount``: the training's, which values waiting against finishing; ``observed``, if given, receives the
    component names and the behaviour fingerprint of the program's answers (the Verdict keeps them)."""
    try:
        data = card_rollouts(card.model_dump_json(), str(card.source or ""), steps)
    except RolloutError as err:
        return [Reason(stage="dryrun", severity="error", message=str(err))]
    limits = limits or Limits(wall_seconds=30, cpu_seconds=20)
    if scratch is not None:
        return _check(source, card, data, Path(scratch), limits, on_event, discount, observed)
    with tempfile.TemporaryDirectory(prefix="autoreward-dryrun-") as tmp:
        return _check(source, card, data, Path(tmp), limits, on_event, discount, observed)


def _check(
    source: str,
    card: TaskCard,
    data: Rollouts,
    scratch: Path,
    limits: Limits,
    on_event: Callable[[dict[str, Any]], None] | None,
    discount: float,
    observed: Observed | None = None,
) -> list[Reason]:
    scratch.mkdir(parents=True, exist_ok=True)
    write_npz(scratch / INPUT_FILE, data.arrays)
    evidence = Evidence(
        expected=len(data.kinds),
        rollouts=data.kinds,
        fitness=data.arrays["fitness"],
        idle=data.idle,
        ends_on_success=card.ends_on_success,
        stage=data.arrays["stage"],
        still=data.arrays["still"],
        stages=data.stages,
        discount=discount,
    )
    params = {"input": INPUT_FILE, "layout": data.layout, "fields": _captured(source, card)}
    job = Job(
        entry_point=ENTRY_POINT, source=source, params=params, inputs=[scratch / INPUT_FILE], **card_folders(card)
    )
    report = run_in_sandbox(job, scratch, limits, _Collector(evidence, on_event))
    reasons = judge(evidence, finished=report.ok)
    if observed is not None:
        answers = evidence.answers
        observed.names.update(name for answer in answers for name in answer.components if bad_name(name) is None)
        observed.behaviour = fingerprint(answers, evidence.expected) if report.ok else None
    if report.ok:
        return reasons
    return reasons_from_report(report) + [r for r in reasons if r.severity == "error"]


def idle_transitions(layout: list[dict[str, Any]], arrays: Mapping[str, np.ndarray]) -> np.ndarray:
    """Per transition, whether no State field but the clocks changed: the steps where the agent stood still."""
    before, after = arrays["prev"], arrays["state"]
    idle = np.ones(len(before), dtype=bool)
    for i, entry in enumerate(layout):
        if entry["name"] in CLOCK_FIELDS:
            continue
        column = arrays[f"field_{i}"]
        column = column.reshape(len(column), -1)
        idle &= np.all(column[before] == column[after], axis=1)
    return idle


def _captured(source: str, card: TaskCard) -> list[str] | None:
    """The fields training will capture for ``source`` (its States are narrowed the same way here); None, all of
    them, for a text that does not parse (it will not load either, and says why)."""
    try:
        return sorted(captured_names(card.fitness_spec, names_read(source)))
    except RewardProgramError:
        return None


class RolloutError(RuntimeError):
    """The env could not be rolled out for the dry run (the card's problem, not the program's)."""


@functools.lru_cache(maxsize=8)
def card_rollouts(card_json: str, card_source: str, steps: int, seed: int = 0) -> Rollouts:
    """The dry run's transitions for a card, from a program-free sandboxed job; made once per card and size."""
    from autoreward.tasks import TaskCard

    card = TaskCard.model_validate_json(card_json)
    params = {"card": card.model_dump(mode="json"), "card_source": card_source, "steps": steps, "seed": seed}
    folders = card_folders(card.model_copy(update={"source": Path(card_source) if card_source else None}))
    with tempfile.TemporaryDirectory(prefix="autoreward-rollout-") as tmp:
        job = Job(entry_point=ROLLOUT_ENTRY_POINT, params=params, **folders)
        report = run_in_sandbox(job, Path(tmp), Limits(wall_seconds=180, cpu_seconds=120))
        if not report.ok:
            raise RolloutError(f"the dry run could not roll out {card.name}'s env: {report.describe()}")
        arrays = read_npz(Path(tmp) / ROLLOUTS_FILE)
    layout = report.result["layout"]
    kinds, stages = list(report.result["rollouts"]), [str(name) for name in report.result.get("stages", [])]
    return Rollouts(layout, kinds, arrays, idle_transitions(layout, arrays), stages)


class _Collector:
    """Receives the program's answers (on the sandbox's reader thread) and stamps each with the checker's clock."""

    def __init__(self, evidence: Evidence, on_event: Callable[[dict[str, Any]], None] | None) -> None:
        self.ev = evidence
        self.on_event = on_event

    def __call__(self, data: dict[str, Any]) -> None:
        now = time.perf_counter()
        ev = self.ev
        if "loading" in data and ev.loading_at is None and ev.ready_at is None:
            ev.loading_at = now
            return
        if "ready" in data and ev.ready_at is None and not ev.answers:
            ev.ready_at = now
            return
        if "answer" not in data or ev.protocol:
            return
        try:
            answer = Answer.model_validate(data)
        except ValidationError:
            ev.protocol = f"answer {len(ev.answers)} is not plain numbers"
            return
        if ev.ready_at is None or answer.answer != len(ev.answers) or len(ev.answers) >= ev.expected:
            ev.protocol = f"an answer out of order (got {answer.answer}, expected {len(ev.answers)})"
            return
        ev.answers.append(answer)
        ev.arrivals.append(now)
        if self.on_event is not None and len(ev.answers) % PROGRESS_EVERY == 0:
            self.on_event({"stage": "dryrun", "calls": len(ev.answers), "of": ev.expected})


def reasons_from_report(report: SandboxReport) -> list[Reason]:
    """Why the program's job ended badly (its answers are judged separately); nothing for a job that ended."""
    if report.ok:
        return []
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


# --- the program's side (inside its sandboxed worker) -----------------------------------------------------


class CallTimeout(BaseException):
    """Raised inside a ``compute_reward`` call that runs past CALL_TIMEOUT_S (BaseException: harder to swallow)."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise CallTimeout


def _hard(err: BaseException) -> BaseException:
    if isinstance(err, CallTimeout):
        return TimeoutError(f"one call of compute_reward ran longer than {CALL_TIMEOUT_S:g} s").with_traceback(
            err.__traceback__
        )
    return err


def _transitions(ctx: JobContext) -> list[tuple[Any, np.ndarray, Any]]:
    """The checker's States from its input file; a job started without one (a test of the sandbox alone) rolls
    the card's env out itself, still before the program loads."""
    if "input" in ctx.params:
        arrays = read_npz(ctx.scratch / ctx.params["input"])
        states = decode(ctx.params["layout"], arrays, ctx.params.get("fields"))
        return [
            (states[int(p)], np.array(a), states[int(s)])
            for p, a, s in zip(arrays["prev"], arrays["action"], arrays["state"], strict=True)
        ]
    from autoreward.envs.make import card_state_spec, make_card_env
    from autoreward.tasks import TaskCard

    card = TaskCard.model_validate(ctx.params["card"])
    env = make_card_env(card)
    fields = ctx.params.get("fields")
    spec = card_state_spec(card, env, fields)
    steps = int(ctx.params.get("steps", DEFAULT_STEPS))
    out = [(t.prev, t.action, t.state) for t in rollouts(env, spec, steps, int(ctx.params.get("seed", 0)))]
    env.close()
    return out


def run_job(ctx: JobContext) -> dict[str, Any]:
    """Job kind ``"dryrun"``: call the program on every transition, answering each call with numbers.

    Its result (calls made, the first failure) is informative only: the checker judges the answers."""
    transitions = _transitions(ctx)
    signal.signal(signal.SIGALRM, _on_alarm)
    ctx.emit({"loading": True})  # before any program code runs: the checker times the load from here
    fn = ctx.load_program()
    ctx.emit({"ready": len(transitions)})
    seconds: list[float] = []
    located = False
    failure = None
    calls = 0
    for index, (prev, action, state) in enumerate(transitions):
        answer = _answer(fn, prev, action, state, index, seconds)
        calls += 1
        if "total" in answer and not located:
            problem = value_problem(answer["total"], answer["components"])
            if problem is not None and problem[0] == "nonfinite":
                answer["line"] = locate_nonfinite(fn, prev, action, state)  # a hint for the reason; judged outside
                located = True
        ctx.emit(answer)
        if calls % PROGRESS_EVERY == 0:
            ctx.emit({"stage": "dryrun", "calls": calls, "of": len(transitions)})
        if "failure" in answer:
            failure = answer["failure"]["message"]
            break
        if calls >= 25 and float(np.median(seconds)) * 1000 > 5 * CALL_BUDGET_MS:
            break  # far over budget: more calls only cost time
    return {"calls": calls, "failure": failure}


def _answer(
    fn: Callable[..., Any], prev: Any, action: np.ndarray, state: Any, index: int, seconds: list[float]
) -> dict[str, Any]:
    signal.setitimer(signal.ITIMER_REAL, CALL_TIMEOUT_S)
    try:
        start = time.perf_counter()
        out = fn(prev, action, state)
        seconds.append(time.perf_counter() - start)
    except (MemoryError, CallTimeout) as err:
        raise _hard(err) from None
    except OSError as err:
        if err.errno in (errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM):
            raise  # limits and refusals: the worker reports them with their own status
        return _raised(err, index)
    except Exception as err:
        return _raised(err, index)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        total, components = to_numbers(out)
    except ContractError as err:
        return {"answer": index, "failure": {"kind": "contract", "message": str(err)[:2000]}}
    return {"answer": index, "total": total, "components": components}


def _raised(err: Exception, index: int) -> dict[str, Any]:
    message = f"{type(err).__name__}: {str(err)[:300]}"
    return {"answer": index, "failure": {"kind": "raised", "message": message, "line": program_line(err)}}
