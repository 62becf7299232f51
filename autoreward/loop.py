"""The one orchestrator: design -> critique -> train -> analyse -> prefer -> feedback, iteration after iteration.

Only this module knows the order of the stages. Each stage reads what it needs from the run store and writes
its output there before the next starts, and each skips work whose output is already stored; so running the
loop again on a killed run (``autoreward resume``) continues at the first unfinished stage, retrains only
candidates whose training had not finished, and never repeats an LLM call that was answered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autoreward.config import LLMSettings, with_model_defaults
from autoreward.critic.dryrun import RolloutError
from autoreward.critic.plan_check import find_plans
from autoreward.critic.review import parse_review, review_program
from autoreward.critic.verdict import Reason, Verdict
from autoreward.describe import EnvDescription, describe
from autoreward.designer import Designer, candidates_from
from autoreward.errors import AutorewardError, first_line
from autoreward.feedback import (
    Feedback,
    analysis_label,
    build_feedback,
    position_label,
    rejection_lines,
    started_programs,
)
from autoreward.llm import Budget, BudgetExceeded, CallRecord, LLMError, LLMUnavailable
from autoreward.normalise import program_key
from autoreward.observer import LoopObserver
from autoreward.past_runs import PastProgram, past_programs
from autoreward.plan import PLAN_SAMPLES, Plan, ask_plans, field_names, needs_plan, with_plan
from autoreward.preference import oracle_ranking
from autoreward.runconfig import RunConfig
from autoreward.sandbox.isolation import SandboxUnavailable, choose_isolation
from autoreward.start import StartRejected, add_start_candidates
from autoreward.store import CandidateRow, RunStatus, RunStore, Status
from autoreward.tasks import TaskCard
from autoreward.templates import render
from autoreward.training.halving import Halving, HalvingConfig
from autoreward.training.hyperparams import learner_settings
from autoreward.training.models import TrainJob, TrainResult
from autoreward.training.parallel import train_many
from autoreward.types import Review, TrainOne
from autoreward.worker_report import checked_report

Critic = Callable[[str, TaskCard, Path, Review | None], Verdict]
Analyze = Callable[[TaskCard, list[tuple[str, TrainResult]], Path | None, str | None], str]  # (..., prompts_dir,
# ranked_by: who ranked the results, in the order given; None: the Analyzer orders them by true fitness)
RANKED_BY = {"human": "a person", "synthetic": "the synthetic oracle"}


class WaitingForPreference(AutorewardError):
    """A human-preference run stopped to wait for a ranking; ``autoreward resume`` continues it."""


class ReplayMissing(AutorewardError):
    """A replay (``autoreward replay``) needed an LLM answer that the run it replays never stored."""


# Errors that concern the run, not the candidate being checked: they end the run; any other error in one
# candidate's stage becomes that candidate's failure.
RUN_LEVEL = (SandboxUnavailable, LLMError, BudgetExceeded, ReplayMissing)


@dataclass
class Parts:
    """The stages' implementations; the CLI wires the real ones, tests may wire others."""

    critic: Critic
    train_one: TrainOne
    analyze: Analyze
    ask_ranking: Callable[[int, list[CandidateRow]], list[str] | None] | None = None  # a person, if present


@dataclass(frozen=True)
class Outcome:
    run_id: str
    best_candidate: str | None
    best_fitness: float | None
    iterations_done: int
    success: bool


class Loop:
    """Runs (or resumes) one stored run to its end."""

    def __init__(
        self,
        store: RunStore,
        run_id: str,
        card: TaskCard,
        parts: Parts,
        observer: LoopObserver,
        llm: LLMSettings | None = None,
    ) -> None:
        """``llm`` replaces the stored LLM settings for this session (the local model's server, on its port)."""
        self.store = store
        self.run_id = run_id
        self.card = card
        self.parts = parts
        self.observer = observer
        self.config = RunConfig.model_validate(store.run(run_id).config)
        self.settings: LLMSettings = with_model_defaults(llm or self.config.llm)
        self.budget = Budget.from_settings(self.settings)
        for call in store.llm_calls(run_id):  # a resumed run has already spent these
            self.budget.charge(CallRecord.model_validate(call.record))
        self.designer = Designer(self.settings, self.budget, discount=learner_settings(card).gamma)
        self.env_description: EnvDescription | None = None
        self.plan_cards: list[TaskCard] = []  # one card per accepted plan: the axis the samples spread over
        self.replay_of: str | None = store.run(run_id).meta.get("replay_of")
        self._halving_noted = False

    # --- the run ----------------------------------------------------------------------------------------------

    def run(self) -> Outcome:
        if self.config.backend == "local":
            choose_isolation()  # no program runs unisolated: refuse before any LLM call is paid for
        self.store.set_run(self.run_id, status=RunStatus.RUNNING)
        description = self._description()
        self._plan()
        iteration = 0
        for iteration in range(self.config.iterations):
            self.observer.iteration(iteration, self.config.iterations)
            if iteration == 0:
                self._start(description)
            self._design(iteration, description)
            self._critique(iteration, description)
            self._resample(iteration, description)
            self._train(iteration)
            self._analyze(iteration)
            if self._succeeded():
                self.observer.message(f"success threshold {self.card.success_threshold:g} met: stopping early")
                break
            if iteration + 1 < self.config.iterations:
                self._prefer(iteration)
                self._feedback(iteration)
        best = self.best()
        self.store.set_run(
            self.run_id,
            status=RunStatus.FINISHED,
            best=(best.id, best.fitness) if best and best.fitness is not None else None,
        )
        return Outcome(
            self.run_id, best.id if best else None, best.fitness if best else None, iteration + 1, self._succeeded()
        )

    def first_design(self) -> None:
        """The first iteration up to training (describe, plan, design, critique, re-sample): what a design-phase
        measurement counts (``bench/reward_quality.py --design-only``); ``run`` continues from it."""
        description = self._description()
        self._plan()
        self._design(0, description)
        self._critique(0, description)
        self._resample(0, description)

    def best(self, up_to: int | None = None) -> CandidateRow | None:
        """The trained candidate with the highest true fitness (up to and including iteration ``up_to``)."""
        return self.store.best(self.run_id, up_to)

    def _parent(self, iteration: int) -> CandidateRow | None:
        """What an iteration's programs revise: after iteration 1, the program the run started from (the
        prompt shows it as the one to improve); else the best so far."""
        if iteration == 0:
            return None
        started = started_programs(self.store.candidates(self.run_id, iteration - 1))
        return started[0] if started else self.best(iteration - 1)

    def _may_ask(self, iteration: int, what: str) -> None:
        """Called before every LLM request: a replay has only the answers its source run stored."""
        if self.replay_of is not None:
            raise ReplayMissing(
                f"run {self.run_id} replays {self.replay_of}, which has no stored answer for the {what} of "
                f"iteration {iteration + 1}: the replay stops here (what it trained is kept)"
            )

    def _succeeded(self) -> bool:
        best = self.best()
        threshold = self.card.success_threshold
        return threshold is not None and best is not None and (best.fitness or 0.0) >= threshold

    # --- stages -------------------------------------------------------------------------------------------------

    def _description(self) -> str:
        """The description's text; its structure (action space, family, sub-goals) is kept for the Designer,
        which fits the prompt to it (a run stored before it was kept has only the text)."""
        stored = self.store.stage(self.run_id, 0, "description")
        if stored is None:
            self.observer.stage(0, "describe", f"rolling out {self.card.env_id} to measure its State")
            env = describe(self.card, seed=self.config.seed)
            stored = {"text": env.render(self.settings.prompts_dir), "env": env.model_dump(mode="json")}
            self.store.put_stage(self.run_id, 0, "description", stored)
        self.env_description = EnvDescription.model_validate(stored["env"]) if "env" in stored else None
        return stored["text"]

    def _plan(self) -> None:
        """A sparse card's plan, before any program (autoreward.plan, checked by critic.plan_check): the plans
        considered are stored with their verdicts, and the first accepted one becomes the card's sub-goals, which
        the skeleton and its grammar follow. A resumed run reads the stored plans and never asks again."""
        if not needs_plan(self.card) or self.env_description is None:
            return
        stored = self.store.stage(self.run_id, 0, "plans")
        if stored is None:
            stored = [p.model_dump(mode="json") for p in self._find_plans(self.env_description)]
            self.store.put_stage(self.run_id, 0, "plans", stored)
        plans = [Plan.model_validate(p) for p in stored]
        chosen = next((p for p in plans if p.accepted), None)
        if chosen is None:
            self.observer.message(f"no plan passed the checks ({len(plans)} considered): the card's own hints stay")
            return
        self.plan_cards = [with_plan(self.card, p) for p in plans if p.accepted]
        self.card = self.plan_cards[0]
        self.observer.message(f"plan ({chosen.origin}): {' -> '.join(s.head for s in chosen.stages)}")
        if len(self.plan_cards) > 1:
            self.observer.message(f"{len(self.plan_cards)} plans passed: each iteration's samples follow them in turn")

    def _find_plans(self, env: EnvDescription) -> list[Plan]:
        def ask(offered: list[Plan]) -> CallRecord:
            def call() -> CallRecord:
                self.observer.stage(0, "plan", f"asking {self.settings.model} for {PLAN_SAMPLES} plans")
                self._may_ask(0, "plan")
                return ask_plans(self.card, env, self.settings, budget=self.budget, offered=offered)

            stored = self._llm_call(0, "plan", call)
            assert stored is not None  # call() always returns a record
            return stored[1]

        try:
            plans, problems = find_plans(
                self.card, field_names(env), ask, discount=self.designer.discount, terminates=env.terminations > 0
            )
        except RolloutError as err:
            self.observer.message(f"no plan: {err}")
            return []
        for problem in problems:
            self.observer.message(f"plan answer rejected: {problem}")
        return plans

    def _prompt_description(self, text: str) -> EnvDescription | str:
        return self.env_description if self.env_description is not None else text

    def _start(self, description: str) -> None:
        """The programs the run starts from become iteration 1's first candidates. Those checked when the run
        was created are stored accepted; any the Critic rejects now stop the run before the LLM is asked."""
        add_start_candidates(self.store, self.run_id, self.config.start_from)
        self._critique(0, description)
        lines = [
            f"{row.origin}: {reason}"
            for row in self.store.candidates(self.run_id, 0)
            if row.origin is not None and row.status == Status.REJECTED
            for reason in row.failure_reasons()
        ]
        if lines:
            raise StartRejected("the Critic rejected the program to start from:\n" + "\n".join(lines))

    def _design(self, iteration: int, description: str) -> None:
        """One stored call for the iteration's samples; where several plans passed, one call per plan for its
        share of them (round robin), each prompt and grammar built from its own plan."""
        shares = self._plan_shares()
        first_index = self._first_llm_index(iteration)
        for number, (card, k) in enumerate(shares):

            def ask(card: TaskCard = card, k: int | None = k) -> CallRecord:
                feedback = self._stored_feedback(iteration - 1) if iteration else None
                wanted = k or self.settings.samples
                self.observer.stage(iteration, "design", f"asking {self.settings.model} for {wanted} programs")
                past = self._past_programs() if iteration == 0 else []
                self._may_ask(iteration, "design" if iteration == 0 else "revise")
                prompt = self._prompt_description(description)
                return self.designer.design(card, prompt, feedback, k=k, past=past).record

            purpose = "design" if iteration == 0 else "revise"
            call = self._llm_call(iteration, purpose, ask, number if len(shares) > 1 else None)
            if call is not None:
                self._add_candidates(iteration, call[1], call[0], first_index=first_index)
                first_index += call[1].n

    def _plan_shares(self) -> list[tuple[TaskCard, int | None]]:
        """(card, samples) per design call: the card alone (its samples: the settings'), or each accepted plan's
        card with an even share of the samples (none for a plan beyond the sample count)."""
        samples = self.settings.samples or 0
        if len(self.plan_cards) < 2 or samples < 2:
            return [(self.card, None)]
        cards = self.plan_cards[:samples]
        return [(card, samples // len(cards) + (i < samples % len(cards))) for i, card in enumerate(cards)]

    def _llm_call(
        self, iteration: int, purpose: str, ask: Callable[[], CallRecord | None], number: int | None = None
    ) -> tuple[int, CallRecord] | None:
        """(stored row id, record) of the call: its stored answer when there is one, else ``ask()``'s, stored."""

        def asked() -> dict[str, Any] | None:
            record = ask()
            return None if record is None else record.model_dump(mode="json")

        stored = self.store.replay_or_call(self.run_id, iteration, purpose, asked, number)
        return None if stored is None else (stored.row_id, CallRecord.model_validate(stored.record))

    def _past_programs(self) -> list[PastProgram]:
        """With ``--examples-from-runs``, earlier runs' best programs on this env, chosen once and stored, so a
        resumed run shows the same ones."""
        if not self.config.examples_from_runs:
            return []
        stored = self.store.stage(self.run_id, 0, "past_programs")
        if stored is None:
            chosen = past_programs(self.store, self.card, self.run_id)
            stored = [p.model_dump(mode="json") for p in chosen]
            self.store.put_stage(self.run_id, 0, "past_programs", stored)
            if chosen:
                self.observer.message(f"examples from earlier runs: {', '.join(p.candidate_id for p in chosen)}")
        return [PastProgram.model_validate(p) for p in stored]

    def _first_llm_index(self, iteration: int) -> int:
        """The LLM's candidates follow the programs the run starts from."""
        return len(self.config.start_from) if iteration == 0 else 0

    def _add_candidates(self, iteration: int, record: CallRecord, call_id: int, first_index: int) -> None:
        """Store the candidates of one call as indices ``first_index``...; those already stored are kept."""
        parent = self._parent(iteration)
        stored = {r.idx for r in self.store.candidates(self.run_id, iteration)}
        for candidate in candidates_from(record):
            if first_index + candidate.index in stored:
                continue
            status, verdict = Status.DESIGNED, None
            if candidate.reason is not None:
                status = Status.REJECTED
                verdict = Verdict(reasons=[candidate.reason], stages_run=["extract"]).model_dump(mode="json")
            elif (original := self._duplicate_of(candidate.source)) is not None:
                status = Status.DUPLICATE
                verdict = Verdict(reasons=[_duplicate_reason(original)], stages_run=[]).model_dump(mode="json")
            cid = self.store.add_candidate(
                self.run_id, iteration, first_index + candidate.index, candidate.source, llm_call_id=call_id,
                parent_id=parent.id if parent else None, status=status, verdict=verdict,
            )  # fmt: skip
            self.observer.candidate(self.store.candidate(cid))

    def _duplicate_of(self, source: str | None) -> CandidateRow | None:
        """The run's earlier candidate with the same normalised program (autoreward.normalise), if any: it is
        trained once, and the copy is recorded as a duplicate."""
        key = program_key(source) if source else None
        if key is None:
            return None
        for row in self.store.candidates(self.run_id):
            if row.status != Status.DUPLICATE and program_key(self.store.source(row.id) or "") == key:
                return row
        return None

    def _behaves_like(self, row: CandidateRow, verdict: Verdict) -> CandidateRow | None:
        """The run's earlier checked candidate whose answers on the dry run's States had the same fingerprint
        (autoreward.critic.behaviour), if any; a program the Critic accepts is never the copy of a rejected one
        (the two differed in something the fingerprint does not hold, such as speed)."""
        if verdict.behaviour is None:
            return None
        for other in self.store.candidates(self.run_id):
            if other.id == row.id or other.status == Status.DUPLICATE or other.verdict is None:
                continue
            if other.verdict.get("behaviour") != verdict.behaviour:
                continue
            if verdict.accepted and other.status == Status.REJECTED:
                continue
            return other
        return None

    def _resample(self, iteration: int, description: str) -> None:
        """Replace the programs the Critic rejected: up to ``resample`` rounds, each one stored LLM call (purpose
        "resample") for as many programs as the iteration lacks, its candidates appended to the iteration and
        critiqued. A resumed run replays the stored rounds and never repeats an answered call."""
        rounds = self.settings.resample or 0
        designed = self.store.llm_calls(self.run_id, iteration, "design" if iteration == 0 else "revise")
        if not rounds or not designed:
            return
        asked = CallRecord.model_validate(designed[-1].record)
        first_index = self._first_llm_index(iteration) + sum(CallRecord.model_validate(d.record).n for d in designed)
        for number in range(rounds):
            rows = self.store.candidates(self.run_id, iteration)

            def ask(number: int = number, rows: list[CandidateRow] = rows) -> CallRecord | None:
                counted = (Status.REJECTED, Status.DUPLICATE)
                wanted = (self.settings.samples or 0) - sum(r.status not in counted for r in rows if r.origin is None)
                if wanted <= 0:
                    return None
                self.observer.stage(
                    iteration, "resample", f"round {number + 1}/{rounds}: {wanted} programs for rejected ones"
                )
                self._may_ask(iteration, f"re-sample round {number + 1}")
                prompt = self._prompt_description(description)
                return self.designer.resample(asked, rejection_lines(rows), wanted, self.card, prompt).record

            try:
                call = self._llm_call(iteration, "resample", ask, number)
            except LLMUnavailable as err:  # replacements are a bonus: train what was accepted
                self.observer.message(f"no replacements: {err}")
                return
            if call is None:
                return
            call_id, record = call
            self._add_candidates(iteration, record, call_id, first_index)
            first_index += record.n
            self._critique(iteration, description)

    def _critique(self, iteration: int, description: str) -> None:
        for row in self.store.candidates(self.run_id, iteration):
            if row.status != Status.DESIGNED:
                continue
            self.observer.stage(iteration, "critique", row.id)
            source = self.store.source(row.id) or ""
            scratch = self.store.critic_dir(row, fresh=True)  # a killed run's half check restarts
            # a program the user brought is theirs to judge: the Critic checks it, the LLM does not review it
            review = self._review(row, description) if self.config.llm_review and row.origin is None else None
            try:
                verdict = self.parts.critic(source, self.card, scratch, review)
            except RUN_LEVEL:
                raise
            except Exception as err:  # one candidate's check never ends the run: it is that candidate's rejection
                message = f"the check itself failed on this program: {type(err).__name__}: {first_line(err)}"
                verdict = Verdict(reasons=[Reason(stage="dryrun", severity="error", message=message)])
            original = self._behaves_like(row, verdict)
            if original is not None:
                verdict.reasons.insert(0, _duplicate_reason(original, behaviour=True))
            status = Status.DUPLICATE if original is not None else None
            self.store.set_verdict(row.id, verdict.model_dump(mode="json"), verdict.accepted, status=status)
            self.observer.candidate(self.store.candidate(row.id))

    def _review(self, row: CandidateRow, description: str) -> Review:
        """The LLM review of one candidate; its call is stored, and a resumed run reuses a stored answer."""
        purpose = f"review:{row.id}"

        def review(source: str, card: TaskCard) -> list[Reason]:
            def ask() -> CallRecord:
                self._may_ask(row.iteration, f"review of {row.name}")
                return review_program(source, card, description, self.settings, self.budget).record

            try:
                call = self._llm_call(row.iteration, purpose, ask)
            except LLMUnavailable as err:  # the review is advice: without it the program still runs
                return [Reason(stage="review", severity="warning", message=f"no review: {err}")]
            assert call is not None  # ask never returns None
            record = call[1]
            return parse_review(record.answers[0], record.finish_reasons[0])

        return review

    def _train(self, iteration: int) -> None:
        pending = [r for r in self.store.candidates(self.run_id, iteration) if r.status == Status.ACCEPTED]
        if not pending:
            return
        self.observer.stage(iteration, "train", f"{len(pending)} candidates, {self.config.workers or 'all'} workers")
        scratches = [self.store.train_dir(r, fresh=True) for r in pending]  # a killed run's half training restarts
        halving = self._halving(iteration)
        rungs = halving.config.rung_steps(*self._budget()) if halving else []
        train_many(
            [self._job(row, [] if row.builtin else rungs) for row in pending], scratches, self.config.workers,
            on_event=self.observer.training, on_result=self._store_result, train_one=self.parts.train_one,
            halving=halving,
        )  # fmt: skip

    def _halving(self, iteration: int) -> Halving | None:
        """Successive halving over the iteration's candidates (``--prune``), with the rung values of those a
        killed run already finished, so a resumed iteration cuts as the uninterrupted one would have."""
        rows = self.store.candidates(self.run_id, iteration)
        competing = sum(
            r.status != Status.REJECTED and not r.builtin for r in rows
        )  # the env's own reward is a baseline
        if not self.config.prune or self.card.fitness_spec is None or competing < 2:
            return None
        config = HalvingConfig(factor=self.config.prune_factor)
        note = config.placement(*self._budget())
        if note and not self._halving_noted:  # said once per run, not per iteration
            self._halving_noted = True
            self.observer.message(note)
        if not config.rung_steps(*self._budget()):
            return None
        done = [TrainResult.model_validate(r.result) for r in rows if r.result is not None]
        return Halving(config, earlier=done)

    def _budget(self) -> tuple[int, int]:
        """Each candidate's timesteps and the env steps of one PPO update (where a rung may be placed)."""
        return self.config.timesteps or self.card.timesteps, learner_settings(self.card).rollout

    def _job(self, row: CandidateRow, rungs: list[int]) -> TrainJob:
        return TrainJob(
            candidate_id=row.id, task=str(self.card.source or self.card.name),
            card=self.card.model_dump(mode="json"), card_source=str(self.card.source or ""),
            reward_source=None if row.builtin else self.store.source(row.id) or "", timesteps=self.config.timesteps,
            seed=self.config.train_seed(row.iteration, row.idx), eval_episodes=self.config.eval_episodes,
            video=self.config.video, rungs=rungs,
        )  # fmt: skip

    def _store_result(self, job: TrainJob, result: TrainResult) -> None:
        """Stored as soon as each candidate finishes: a kill later loses none of the finished ones. A pruned
        candidate keeps its artefacts and rung but no fitness: only fully trained candidates are selected. What
        the worker reported passes ``checked_report`` first: nothing outside its rules is stored or used."""
        result, dropped = checked_report(job, result, self.store.candidate(job.candidate_id).checked)
        if dropped:
            self.observer.message(f"{job.candidate_id}: {dropped}")
        status = {"ok": Status.TRAINED, "pruned": Status.PRUNED}.get(result.status, Status.FAILED)
        self.store.set_training(job.candidate_id, result, status)
        self.observer.candidate(self.store.candidate(job.candidate_id))

    def _analyze(self, iteration: int) -> None:
        if self.store.stage(self.run_id, iteration, "analysis") is not None:
            return
        self.store.put_analysis(self.run_id, iteration, self._analysis(iteration))

    def _analysis(self, iteration: int, preference: dict[str, Any] | None = None) -> str:
        """The Analyzer's report on ``iteration``; with a ranking, in the ranking's order, so its advice starts
        from the candidate ranked first, never from one the ranking placed below."""
        rows = [r for r in self.store.candidates(self.run_id, iteration) if r.result is not None]
        ranked_by = None
        if preference is not None:
            ranked_by = RANKED_BY.get(preference["source"], preference["source"])
            order = {cid: i for i, cid in enumerate(preference["ranking"])}
            rows.sort(key=lambda r: order.get(r.id, len(order)))
        results = [(analysis_label(r), TrainResult.model_validate(r.result)) for r in rows if not r.builtin]
        text = self.parts.analyze(self.card, results, self.settings.prompts_dir, ranked_by) if results else ""
        for row in (r for r in rows if r.builtin):  # a yardstick: its one component is no program's to change
            text = f"{text.rstrip()}\n\n{self._yardstick(row)}".strip()
        return text

    def _yardstick(self, row: CandidateRow) -> str:
        result = TrainResult.model_validate(row.result)
        evaluation = result.evaluation
        return render(
            "builtin_reward.j2", self.settings.prompts_dir, fitness=row.fitness, timesteps=result.timesteps,
            success_rate=evaluation.success_rate if evaluation is not None else None,
            error=result.error if result.status != "ok" else None,
        ).strip()  # fmt: skip

    def _prefer(self, iteration: int) -> None:
        mode = self.config.preference
        if mode == "none" or self.store.preference(self.run_id, iteration) is not None:
            return
        trained = [
            r for r in self.store.candidates(self.run_id, iteration) if r.status == Status.TRAINED and not r.builtin
        ]
        if len(trained) < 2:
            return
        if mode == "synthetic":
            ranking, used = oracle_ranking(
                {r.id: r.fitness or 0.0 for r in trained}, self.config.oracle_noise, self.config.oracle_budget,
                seed=self.config.seed + iteration,
            )  # fmt: skip
            self.store.add_preference(self.run_id, iteration, "synthetic", ranking)
            self.observer.message(f"oracle ranked {len(ranking)} policies with {used} comparisons")
            return
        asked = self.parts.ask_ranking(iteration, trained) if self.parts.ask_ranking else None
        if asked is None:
            self.store.set_run(self.run_id, status=RunStatus.WAITING_PREFERENCE)
            raise WaitingForPreference(
                f"run {self.run_id} waits for your ranking of iteration {iteration}: rank with "
                f"`autoreward prefer {self.run_id}` or in `autoreward serve`, then `autoreward resume {self.run_id}`"
            )
        self.store.add_preference(self.run_id, iteration, "human", asked)

    def _feedback(self, iteration: int) -> None:
        if self.store.stage(self.run_id, iteration, "feedback") is not None:
            return
        feedback = self._build_feedback(iteration)
        self.store.put_stage(self.run_id, iteration, "feedback", feedback.model_dump(mode="json"))

    # --- feedback for the next prompt -----------------------------------------------------------------------------

    def _stored_feedback(self, iteration: int) -> Feedback:
        stored = self.store.stage(self.run_id, iteration, "feedback")
        return Feedback.model_validate(stored) if stored is not None else self._build_feedback(iteration)

    def _build_feedback(self, iteration: int) -> Feedback:
        preference = self.store.preference(self.run_id, iteration)
        analysis = self._analysis(iteration, preference) if preference else self.store.analysis(self.run_id, iteration)
        return build_feedback(
            iteration, self.store.candidates(self.run_id, iteration), best=self.best(iteration),
            analysis=analysis, preference=preference, source=self.store.source,
        )  # fmt: skip


def _duplicate_reason(original: CandidateRow, *, behaviour: bool = False) -> Reason:
    """Why a candidate is not trained: the same program as ``original`` (or, with ``behaviour``, one that paid
    the same on every dry-run State), whose outcome the model is told."""
    if original.fitness is not None:
        outcome = f"it trained to fitness {original.fitness:.3g}"
    elif original.status in (Status.REJECTED, Status.FAILED):
        outcome = f"it was {original.status}: {'; '.join(original.failure_reasons())}"
    else:
        outcome = "an answer of this iteration"
    same = "the same rewards on every dry-run state as" if behaviour else "the same program as"
    return Reason(
        stage="duplicate", severity="error",
        message=f"{same} {position_label(original)} ({outcome}); write a different one",
    )  # fmt: skip
