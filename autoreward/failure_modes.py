"""Named failure modes of a trained reward, each from training statistics with its evidence and one fix.

The modes of "When LLM Reward Design Fails" (arXiv 2605.28918) and Eureka's reflection, decided on numbers only:
- flooding: one term is most of the reward, so the others do not matter (never where the fitness rose: the
  term that dominates is then the one that teaches the task);
- sign error: the reward's return rises while the true fitness falls, the two strongly anti-correlated;
- reward hacking: the reward's return rises while the true fitness stalls or falls (the policy found a way to be
  paid without doing the task);
- survival hacking: a constant per-step bonus is most of the reward where failing ends episodes, and the task is
  not done: the policy is paid for lasting, not for progress (never where the fitness rose, or where the fitness
  is lasting: it follows episode length);
- constant term: a term with the same value on every step of an env that never ends early (a pure offset);
- sparse goal never reached: a sparse task whose goal training never reached; the card's sub-goal fields and the
  terms that never fired say where the signal stops.
A mode is a claim that the reward teaches something other than the task, so it is reported only where the true
fitness disagrees with the reward. Every sentence lives in ``analysis.j2``; a Finding carries the numbers it cites.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

TARGET_SHARE = 0.3  # flooding's fix scales the dominant term down to about this share
ANTI_CORRELATED = -0.3  # reward and fitness moving this much against each other: a sign error, not hacking
SURVIVAL_SHARE = 0.5


def improved(first: float | None, last: float | None) -> bool:
    """Whether the true fitness ended clearly higher than it began (by a tenth of its size): then the fitness
    agrees with what the reward taught, and no mode that says otherwise is reported."""
    if first is None or last is None:
        return False
    return last - first > 0.1 * max(abs(first), abs(last), 1e-9)


class Finding(BaseModel):
    """One thing worth changing; ``kind`` selects the sentence in the template, the rest fills it in."""

    kind: str
    component: str | None = None
    value: float | None = None
    evidence: dict[str, float] = Field(default_factory=dict, description="the numbers the sentence cites")
    fields: list[str] = Field(default_factory=list, description="State fields it names (sparse sub-goals)")


# The modes, most important first: a revision prompt leads with the first one or two of them.
MODES = ("sparse_unreached", "sign_error", "reward_hacking", "survival_hacking", "flooding", "constant")


def flooding(name: str, share: float) -> Finding:
    """``name`` is ``share`` of |reward|: scaling it by ``factor`` brings it to about TARGET_SHARE."""
    factor = TARGET_SHARE * (1 - share) / ((1 - TARGET_SHARE) * share) if 0 < share < 1 else 0.1
    return Finding(kind="flooding", component=name, value=share, evidence={"share": share, "factor": factor})


def return_against_fitness(
    reward_first: float | None,
    reward_last: float | None,
    fitness_trend: str,
    fitness_first: float | None,
    fitness_last: float | None,
    correlation: float | None,
    grew_most: str | None,
    sparse: bool = False,
) -> Finding | None:
    """Sign error or reward hacking: the candidate's own return rose while the true fitness did not. On a sparse
    task a fall from early lucky successes while sub-goal rewards grow is hacking (the reward pays sub-goals, not
    the goal), not a flipped sign."""
    if None in (reward_first, reward_last, fitness_first, fitness_last) or fitness_trend not in ("flat", "falls"):
        return None
    assert reward_first is not None and reward_last is not None
    rose = reward_last - reward_first > 0.25 * max(abs(reward_first), abs(reward_last), 1e-9)
    if not rose or improved(fitness_first, fitness_last):  # 0.84 -> 1.0, "flat" by its trend, is no hack
        return None
    sign = not sparse and fitness_trend == "falls" and correlation is not None and correlation <= ANTI_CORRELATED
    evidence = {"reward_first": reward_first, "reward_last": reward_last, "fitness_first": fitness_first or 0.0,
                "fitness_last": fitness_last or 0.0}  # fmt: skip
    if correlation is not None:
        evidence["correlation"] = correlation
    if sparse:
        evidence["sparse"] = 1.0
    return Finding(kind="sign_error" if sign else "reward_hacking", component=grew_most, evidence=evidence)


def survival_hacking(
    name: str, value: float, share: float, terminates: bool, length_first: float | None,
    length_last: float | None, task_done: bool,
) -> Finding | None:  # fmt: skip
    """A constant positive bonus per step (``value``), most of the reward, where failing ends episodes early, and
    the task not done: lasting pays more than progress."""
    if not terminates or task_done or value <= 0 or share < SURVIVAL_SHARE:
        return None
    evidence = {"value": value, "share": share}
    if length_first is not None and length_last is not None:
        evidence |= {"length_first": length_first, "length_last": length_last}
    return Finding(kind="survival_hacking", component=name, value=share, evidence=evidence)


def constant_term(name: str, value: float, terminates: bool) -> Finding | None:
    """A term equal on every step of an env that never ends early: adding a constant changes nothing learned."""
    if terminates or value == 0:
        return None
    return Finding(kind="constant", component=name, value=value)


def sparse_unreached(fields: list[str], silent: list[str], best_fitness: float | None) -> Finding | None:
    """A sparse task whose goal was never reached in training (best fitness <= 0): the card's sub-goal fields,
    and the reward's terms that never fired, say which sub-goal never changed."""
    if best_fitness is not None and best_fitness > 0:
        return None
    return Finding(kind="sparse_unreached", fields=fields, evidence={}, component=", ".join(silent) or None)


def top(findings: list[Finding], count: int = 2) -> list[Finding]:
    """The failure modes to lead a revision prompt with."""
    return [f for f in findings if f.kind in MODES][:count]
