"""The one orchestrator: design -> critique -> train -> analyse -> prefer -> feedback, iteration after iteration.

Only this module knows the order of the stages. Each stage reads what it needs from the run store and writes
its output there before the next starts, and each skips work whose output is already stored; so running the
loop again on a killed run (``autoreward resume``) continues at the first unfinished stage, retrains only
candidates whose training had not finished, and never repeats an LLM call that was answered.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autoreward.config import LLMSettings, with_model_defaults
from autoreward.critic.review import parse_review, review_program
from autoreward.critic.verdict import Reason, Verdict
from autoreward.describe import EnvDescription, describe
from autoreward.designer import Designer, candidates_from
from autoreward.errors import AutorewardError
from autoreward.feedback import Feedback, PreferenceRanking, ProgramResult, RejectedProgram
from autoreward.llm import Budget, CallRecord, LLMUnavailable
from autoreward.normalise import program_key
from autoreward.observer import LoopObserver
from autoreward.past_runs import PastProgram, past_programs
from autoreward.preference import oracle_ranking
from autoreward.runconfig import RunConfig
from autoreward.start import StartRejected, add_start_candidates
from autoreward.store import CandidateRow, RunStatus, RunStore, Status
from autoreward.tasks import TaskCard
from autoreward.templates import render
from autoreward.training.halving import Halving, HalvingConfig
from autoreward.training.models import TrainJob, TrainResult, pruned_note
from autoreward.training.parallel import train_many

Review = Callable[[str, TaskCard], list[Reason]]
Critic = Callable[[str, TaskCard, Path, Review | None], Verdict]
TrainOne = Callable[[TrainJob, Path, Callable[[dict[str, Any]], None] | None], TrainResult]
Analyze = Callable[[TaskCard, list[tuple[str, TrainResult]]], str]


class WaitingForPreference(AutorewardError):
    """A human-preference run stopped to wait for a ranking; ``autoreward resume`` continues it."""


class ReplayMissing(AutorewardError):
    """A replay (``autoreward replay``) needed an LLM answer that the run it replays never stored."""


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
        self.designer = Designer(self.settings, self.budget)
        self.env_description: EnvDescription | None = None
        self.replay_of: str | None = store.run(run_id).meta.get("replay_of")

    # --- the run ----------------------------------------------------------------------------------------------

    def run(self) -> Outcome:
        self.store.set_run(self.run_id, status=RunStatus.RUNNING)
        description = self._description()
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

    def best(self, up_to: int | None = None) -> CandidateRow | None:
        """The trained candidate with the highest true fitness (up to and including iteration ``up_to``)."""
        return self.store.best(self.run_id, up_to)

    def _parent(self, iteration: int) -> CandidateRow | None:
        """What an iteration's programs revise: after iteration 1, the program the run started from (the
        prompt shows it as the one to improve); else the best so far."""
        if iteration == 0:
            return None
        started = self._started(iteration - 1)
        return started[0] if started else self.best(iteration - 1)

    def _started(self, iteration: int) -> list[CandidateRow]:
        """The user's programs of ``iteration`` that went through training, pruned or not (iteration 1's)."""
        return [
            r for r in self.store.candidates(self.run_id, iteration)
            if r.origin is not None and not r.builtin and r.status in (Status.TRAINED, Status.FAILED, Status.PRUNED)
        ]  # fmt: skip

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
        purpose = "design" if iteration == 0 else "revise"
        calls = self.store.llm_calls(self.run_id, iteration, purpose)
        if calls:
            call_id, record = calls[-1].row_id, CallRecord.model_validate(calls[-1].record)
        else:
            feedback = self._stored_feedback(iteration - 1) if iteration else None
            self.observer.stage(
                iteration, "design", f"asking {self.settings.model} for {self.settings.samples} programs"
            )
            past = self._past_programs() if iteration == 0 else []
            self._may_ask(iteration, purpose)
            record = self.designer.design(self.card, self._prompt_description(description), feedback, past=past).record
            call_id = self.store.add_llm_call(self.run_id, iteration, purpose, record.model_dump(mode="json"))
        self._add_candidates(iteration, record, call_id, first_index=self._first_llm_index(iteration))

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

    def _resample(self, iteration: int, description: str) -> None:
        """Replace the programs the Critic rejected: up to ``resample`` rounds, each one stored LLM call (purpose
        "resample") for as many programs as the iteration lacks, its candidates appended to the iteration and
        critiqued. A resumed run replays the stored rounds and never repeats an answered call."""
        rounds = self.settings.resample or 0
        designed = self.store.llm_calls(self.run_id, iteration, "design" if iteration == 0 else "revise")
        if not rounds or not designed:
            return
        asked = CallRecord.model_validate(designed[-1].record)
        first_index = self._first_llm_index(iteration) + asked.n
        for number in range(rounds):
            rows = self.store.candidates(self.run_id, iteration)
            calls = self.store.llm_calls(self.run_id, iteration, "resample")
            if number < len(calls):
                call_id, record = calls[number].row_id, CallRecord.model_validate(calls[number].record)
            else:
                counted = (Status.REJECTED, Status.DUPLICATE)
                wanted = (self.settings.samples or 0) - sum(r.status not in counted for r in rows if r.origin is None)
                if wanted <= 0:
                    return
                self.observer.stage(
                    iteration, "resample", f"round {number + 1}/{rounds}: {wanted} programs for rejected ones"
                )
                self._may_ask(iteration, f"re-sample round {number + 1}")
                try:
                    record = self.designer.resample(asked, _rejection_lines(rows), wanted).record
                except LLMUnavailable as err:  # replacements are a bonus: train what was accepted
                    self.observer.message(f"no replacements: {err}")
                    return
                call_id = self.store.add_llm_call(self.run_id, iteration, "resample", record.model_dump(mode="json"))
            self._add_candidates(iteration, record, call_id, first_index)
            first_index += record.n
            self._critique(iteration, description)

    def _critique(self, iteration: int, description: str) -> None:
        for row in self.store.candidates(self.run_id, iteration):
            if row.status != Status.DESIGNED:
                continue
            self.observer.stage(iteration, "critique", row.id)
            source = self.store.source(row.id) or ""
            scratch = self.store.candidate_dir(row.id) / "critic"
            # a program the user brought is theirs to judge: the Critic checks it, the LLM does not review it
            review = self._review(row, description) if self.config.llm_review and row.origin is None else None
            verdict = self.parts.critic(source, self.card, scratch, review)
            self.store.set_verdict(row.id, verdict.model_dump(mode="json"), verdict.accepted)
            self.observer.candidate(self.store.candidate(row.id))

    def _review(self, row: CandidateRow, description: str) -> Review:
        """The LLM review of one candidate; its call is stored, and a resumed run reuses a stored answer."""
        purpose = f"review:{row.id}"

        def review(source: str, card: TaskCard) -> list[Reason]:
            stored = self.store.llm_calls(self.run_id, row.iteration, purpose)
            if stored:
                record = CallRecord.model_validate(stored[-1].record)
            else:
                self._may_ask(row.iteration, f"review of {row.id.rpartition('/')[2]}")
                try:
                    record = review_program(source, card, description, self.settings, self.budget).record
                except LLMUnavailable as err:  # the review is advice: without it the program still runs
                    return [Reason(stage="review", severity="warning", message=f"no review: {err}")]
                self.store.add_llm_call(self.run_id, row.iteration, purpose, record.model_dump(mode="json"))
            return parse_review(record.answers[0], record.finish_reasons[0])

        return review

    def _train(self, iteration: int) -> None:
        pending = [r for r in self.store.candidates(self.run_id, iteration) if r.status == Status.ACCEPTED]
        if not pending:
            return
        self.observer.stage(iteration, "train", f"{len(pending)} candidates, {self.config.workers or 'all'} workers")
        scratches = [self.store.candidate_dir(r.id) / "train" for r in pending]
        for scratch in scratches:
            shutil.rmtree(scratch, ignore_errors=True)  # a half-finished training from a killed run starts over
        halving = self._halving(iteration)
        rungs = halving.config.rung_steps(self.config.timesteps or self.card.timesteps) if halving else []
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
        done = [TrainResult.model_validate(r.result) for r in rows if r.result is not None]
        return Halving(HalvingConfig(factor=self.config.prune_factor), earlier=done)

    def _job(self, row: CandidateRow, rungs: list[int]) -> TrainJob:
        return TrainJob(
            candidate_id=row.id, task=str(self.card.source or self.card.name),
            reward_source=None if row.builtin else self.store.source(row.id) or "", timesteps=self.config.timesteps,
            seed=self.config.train_seed(row.iteration, row.idx), eval_episodes=self.config.eval_episodes,
            video=self.config.video, rungs=rungs,
        )  # fmt: skip

    def _store_result(self, job: TrainJob, result: TrainResult) -> None:
        """Stored as soon as each candidate finishes: a kill later loses none of the finished ones. A pruned
        candidate keeps its artefacts and rung but no fitness: only fully trained candidates are selected."""
        status = {"ok": Status.TRAINED, "pruned": Status.PRUNED}.get(result.status, Status.FAILED)
        self.store.set_result(job.candidate_id, _with_prefix(result, "train"), result.fitness, status)
        self.observer.candidate(self.store.candidate(job.candidate_id))

    def _analyze(self, iteration: int) -> None:
        if self.store.stage(self.run_id, iteration, "analysis") is not None:
            return
        rows = [r for r in self.store.candidates(self.run_id, iteration) if r.result is not None]
        results = [(_analysis_label(r), TrainResult.model_validate(r.result)) for r in rows if not r.builtin]
        text = self.parts.analyze(self.card, results) if results else ""
        for row in (r for r in rows if r.builtin):  # a yardstick: its one component is no program's to change
            text = f"{text.rstrip()}\n\n{self._yardstick(row)}".strip()
        self.store.put_stage(self.run_id, iteration, "analysis", {"text": text})
        if text:
            (self.store.run_dir(self.run_id) / f"analysis-it{iteration:02d}.md").write_text(text, encoding="utf-8")

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
        everyone = {r.id: r for r in self.store.candidates(self.run_id)}
        rows = [r for r in everyone.values() if r.iteration == iteration]
        analysis = (self.store.stage(self.run_id, iteration, "analysis") or {}).get("text", "")
        preference = self.store.preference(self.run_id, iteration)
        by_id = {r.id: r for r in rows}
        shown: list[CandidateRow] = []
        if preference is not None:
            order = [by_id[c] for c in preference["ranking"] if c in by_id]
            shown = [order[0], order[-1]] if len(order) > 1 else order
        else:
            best = self.best(iteration)
            shown = [best] if best is not None else []
        started = self._started(iteration)  # the user's programs come first: they are the ones to improve
        shown = started + [r for r in shown if r not in started]
        rejected = [
            RejectedProgram(label=_label(r), reasons=r.failure_reasons())
            for r in rows
            if r.status in (Status.REJECTED, Status.FAILED, Status.DUPLICATE)
        ]
        pruned = [RejectedProgram(label=_label(r), reasons=[pruned_note(r.result)]) for r in rows
                  if r.status == Status.PRUNED]  # fmt: skip
        return Feedback(
            iteration=iteration,
            best=[self._program_result(r) for r in shown],
            analysis=analysis,
            rejected=rejected,
            pruned=pruned,
            preference=PreferenceRanking(
                ranking=[_label(everyone[c]) for c in preference["ranking"]], by=preference["source"]
            )
            if preference is not None
            else None,
        )

    def _program_result(self, row: CandidateRow) -> ProgramResult:
        success = row.success_rate
        reasons = (row.verdict or {}).get("reasons", [])
        warnings = [str(Reason.model_validate(r)) for r in reasons if r.get("severity") == "warning"]
        return ProgramResult(
            label=_label(row), source=self.store.source(row.id) or "", fitness=row.fitness,
            success=None if success is None else success >= 0.5, warnings=warnings,
        )  # fmt: skip


def _label_of(row: CandidateRow) -> str:
    """``iteration 2, candidate 3`` for ``run/it01-c02``: prompts count from 1, as people do."""
    return f"iteration {row.iteration + 1}, candidate {row.idx + 1}"


def _label(row: CandidateRow) -> str:
    """A candidate as prompts name it; a program the LLM did not write says where it came from."""
    if row.builtin:
        return f"{_label_of(row)} (the env's own reward)"
    if row.origin is not None:
        return f"{_label_of(row)} (your program {Path(row.origin).name}, the one to improve)"
    return _label_of(row)


def _analysis_label(row: CandidateRow) -> str:
    """A candidate as the Analyzer's iteration summary names it: its id, and where it came from if not the LLM."""
    return row.id if row.origin is None else f"{row.id} (from {Path(row.origin).name})"


def _rejection_lines(rows: list[CandidateRow], limit: int = 4) -> list[str]:
    """The distinct reasons the iteration's rejected candidates were refused, most recent first."""
    lines: list[str] = []
    for row in reversed(rows):
        if row.status in (Status.REJECTED, Status.DUPLICATE):
            lines += [line for line in row.failure_reasons() if line not in lines]
    return lines[:limit]


def _duplicate_reason(original: CandidateRow) -> Reason:
    """Why a candidate is not trained: the same program as ``original``, whose outcome the model is told."""
    if original.fitness is not None:
        outcome = f"it trained to fitness {original.fitness:.3g}"
    elif original.status in (Status.REJECTED, Status.FAILED):
        outcome = f"it was {original.status}: {'; '.join(original.failure_reasons())}"
    else:
        outcome = "an answer of this iteration"
    return Reason(
        stage="duplicate", severity="error",
        message=f"the same program as {_label_of(original)} ({outcome}); write a different one",
    )  # fmt: skip


def _with_prefix(result: TrainResult, prefix: str) -> dict[str, Any]:
    """The result as stored: artefact paths relative to the candidate's directory."""
    data = result.model_dump(mode="json")
    data["artifacts"] = {k: f"{prefix}/{v}" for k, v in result.artifacts.items()}
    return data
