"""``autoreward report``: one markdown file and one PNG over stored runs and evaluations.

Task x method x seeds with 95% CIs and normalised scores (the numbers ``evaluate`` printed), the models and
budgets behind them, and links to the programs (exported files, reward files) and each evaluation's plots.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from autoreward.errors import AutorewardError
from autoreward.evidence import EvaluationSummary, summarize_evaluation, table_rows
from autoreward.runs import export_path
from autoreward.store import Run, RunStore

INTRO = (
    "Mean and IQM with 95% stratified-bootstrap confidence intervals, probability of improvement over each "
    "baseline (rliable). *normalised*: (method - builtin) / |reference - builtin| on IQMs."
)


def related_evaluations(store: RunStore, run_id: str) -> list[str]:
    """Evaluations that judged a program of ``run_id``, oldest first."""
    found = []
    for row in reversed(store.evaluations()):
        if any(str(m.get("origin", "")).startswith(f"{run_id}/") for m in row.spec.get("methods", [])):
            found.append(row.id)
    return found


def resolve_ids(store: RunStore, ids: Sequence[str]) -> tuple[list[Run], list[str]]:
    """The runs named and the evaluations named or made of those runs."""
    runs: list[Run] = []
    evaluations: list[str] = []
    for given in ids:
        if store.has_evaluation(given):
            evaluations.append(given)
            continue
        run = store.run(given)  # a one-line error for an unknown id
        runs.append(run)
        evaluations += related_evaluations(store, run.id)
    return runs, list(dict.fromkeys(evaluations))


def write_report(store: RunStore, ids: Sequence[str], output: Path) -> tuple[Path, Path | None]:
    """Write ``output`` (markdown) and, when there are evaluations, the PNG beside it."""
    if not ids:
        raise AutorewardError("report needs at least one RUN_ID or evaluation id (`autoreward runs` lists runs)")
    runs, evaluation_ids = resolve_ids(store, ids)
    summaries = [summarize_evaluation(store, e) for e in evaluation_ids]
    output.parent.mkdir(parents=True, exist_ok=True)
    png = output.with_suffix(".png") if summaries else None
    if png is not None:
        _figure(summaries, png)
    output.write_text(render(store, runs, summaries, output.parent, png), encoding="utf-8")
    return output, png


def render(
    store: RunStore, runs: Sequence[Run], summaries: Sequence[EvaluationSummary], here: Path, png: Path | None
) -> str:
    """The markdown text; links are relative to ``here`` (the report's folder)."""
    lines = ["# autoreward report", ""]
    if summaries:
        lines += ["## Final true fitness over fresh training seeds", "", INTRO, ""]
        lines += _results_table(summaries)
        if png is not None:
            lines += ["", f"![IQM with 95% CIs]({_link(png, here)})", ""]
        for s in summaries:
            lines += _evaluation_section(s, here)
    if runs:
        lines += ["## Runs", "", "| run | task | model | iterations x samples | timesteps | best (loop) | LLM tokens"
                  " | LLM cost | exported |", "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        lines += [_run_row(store, r, here) for r in runs]
        without = [r.id for r in runs if not related_evaluations(store, r.id)]
        if without:
            lines += ["", "No evaluation yet for: " + ", ".join(without) + " (`autoreward evaluate RUN_ID`).", ""]
    return "\n".join(lines).rstrip() + "\n"


def _results_table(summaries: Sequence[EvaluationSummary]) -> list[str]:
    baselines = list(dict.fromkeys(b for s in summaries for b in s.baselines))
    normalised = any(m.normalized for s in summaries for m in s.methods)
    header = ["task", "method", "seeds", "timesteps", "mean [95% CI]", "IQM [95% CI]"]
    header += [f"P(> {b})" for b in baselines] + (["normalised IQM"] if normalised else [])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for s in summaries:
        for row in table_rows(s):
            cells = [s.task, f"`{row['method']}`", row["seeds"], str(s.timesteps or "card"), row["mean [95% CI]"],
                     row["IQM [95% CI]"]]  # fmt: skip
            cells += [row.get(f"P(> {b})", "-") for b in baselines]
            cells += [row.get("normalised IQM", "-")] if normalised else []
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def _evaluation_section(s: EvaluationSummary, here: Path) -> list[str]:
    lines = ["", f"### {s.task}: `{s.id}`", "",
             f"{len(s.seeds)} training seeds ({s.seeds[0]}...{s.seeds[-1]}), {s.timesteps or 'the card budget of'} "
             f"timesteps each, {s.episodes} evaluation episodes per policy.", ""]  # fmt: skip
    if s.small_sample:
        lines += [f"> **Small sample:** {s.small_sample}.", ""]
    for method, origin in s.origins.items():
        target = _link(Path(origin), here) if Path(origin).is_file() else origin
        lines.append(f"- `{method}`: {target}")
    for name, path in s.plots.items():
        lines.append(f"- {name}: ![{name}]({_link(Path(path), here)})")
    if s.failures:
        lines += ["", "Failed seeds:"] + [f"- {line}" for line in s.failures]
    if s.pending:
        lines.append(f"\n{s.pending} trainings not finished: run the same `autoreward evaluate` command again.")
    versions = s.provenance.get("versions", {})
    if versions:
        lines += ["", "Made with " + ", ".join(f"{k} {v}" for k, v in versions.items())
                  + f" on {s.provenance.get('cores')} cores."]  # fmt: skip
    return lines


def _run_row(store: RunStore, run: Run, here: Path) -> str:
    config = run.config
    llm = config.get("llm", {})
    usage = store.llm_usage(run.id).values()
    tokens = sum(int(u["tokens_in"] or 0) + int(u["tokens_out"] or 0) for u in usage)
    cost = sum(float(u["cost"] or 0) for u in usage)
    exported = export_path(store, run.id)
    best = "-" if run.best_fitness is None else f"{run.best_fitness:.4g}"
    cells = [
        run.id, run.task, f"`{llm.get('model', '?')}`", f"{config.get('iterations')} x {llm.get('samples')}",
        str(config.get("timesteps") or "card"), best, str(tokens), f"${cost:.4f}",
        f"[{exported.name}]({_link(exported, here)})" if exported.exists() else "-",
    ]  # fmt: skip
    return "| " + " | ".join(cells) + " |"


def _link(path: Path, here: Path) -> str:
    return Path(os.path.relpath(path.resolve(), here.resolve())).as_posix()


def _figure(summaries: Sequence[EvaluationSummary], path: Path) -> None:
    """One panel per evaluation: each method's IQM with its 95% CI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    height = max(2.0, sum(0.5 * len(s.methods) + 0.8 for s in summaries))
    fig, axes = plt.subplots(len(summaries), 1, figsize=(7, height), squeeze=False)
    for ax, s in zip(axes[:, 0], summaries, strict=True):
        for y, m in enumerate(s.methods):
            ax.barh(y, m.iqm.high - m.iqm.low, left=m.iqm.low, height=0.6, alpha=0.6, color=f"C{y}")
            ax.vlines(m.iqm.value, y - 0.3, y + 0.3, color="k")
        ax.set_yticks(range(len(s.methods)), [f"{m.method} (n={m.seeds})" for m in s.methods])
        ax.set_title(f"{s.task}: IQM of true fitness, 95% CI", fontsize="medium")
        ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
