"""Carry a training's artefacts from the node that trained it back to the driver's scratch directory.

With the Ray backend a candidate trains in a node-local scratch directory, but the run store (and everything that
reads artefacts: the analyzer, the web page, ``export``) lives on the driver. The files are few and small (model,
stats, plots, clip, TensorBoard events), so they travel as bytes with the result. The scratch directory was
writable by the reward program, so packing reads only regular files (never through a link) and is bounded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from autoreward.sandbox.files import MAX_FILE_BYTES, MAX_FILES, MAX_TOTAL_BYTES, collect, safe_relative, write_new
from autoreward.training.models import EventSink, TrainResult

log = logging.getLogger(__name__)


@dataclass
class Shipment:
    """A TrainResult with the files of its scratch directory (paths relative to it) and what was left behind."""

    result: dict
    files: dict[str, bytes] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def pack(
    result: TrainResult,
    scratch: Path,
    max_file: int = MAX_FILE_BYTES,
    max_total: int = MAX_TOTAL_BYTES,
    max_files: int = MAX_FILES,
) -> Shipment:
    """Every regular file under ``scratch`` within the bounds; links and over-large files are skipped, named."""
    files, skipped = collect(scratch, max_file=max_file, max_total=max_total, max_files=max_files)
    return Shipment(result=result.model_dump(mode="json"), files=files, skipped=skipped)


def unpack(shipment: Shipment, scratch: Path, on_event: EventSink | None = None) -> TrainResult:
    """Write the files under ``scratch`` and return the result; artefacts that did not travel are dropped from it,
    with a warning, so nothing later opens a missing file."""
    scratch = Path(scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    for rel, data in shipment.files.items():
        write_new(scratch / safe_relative(rel), data)
    result = TrainResult.model_validate(shipment.result)
    missing = {name: path for name, path in result.artifacts.items() if not (scratch / safe_relative(path)).exists()}
    for name in missing:
        del result.artifacts[name]
    for what in shipment.skipped:
        _warn(on_event, f"artefact not copied back from the Ray worker: {what}")
    if missing:
        _warn(on_event, f"artefacts missing on the driver: {', '.join(sorted(missing))}")
    return result


def _warn(on_event: EventSink | None, message: str) -> None:
    log.warning(message)
    if on_event is not None:
        on_event({"event": "warning", "message": message})
