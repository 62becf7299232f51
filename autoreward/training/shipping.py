"""Carry a training's artefacts from the node that trained it back to the driver's scratch directory.

With the Ray backend a candidate trains in a node-local scratch directory, but the run store (and everything that
reads artefacts: the analyzer, the web page, ``export``) lives on the driver. The files are few and small (model,
stats, plots, clip, TensorBoard events), so they travel as bytes with the result. The scratch directory was
writable by the reward program, so packing reads only regular files (never through a link) and is bounded.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autoreward.training.models import EventSink, TrainResult

MIB = 1024 * 1024
MAX_FILE_BYTES = 200 * MIB
MAX_TOTAL_BYTES = 1024 * MIB
MAX_FILES = 10_000

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
    shipment = Shipment(result=result.model_dump(mode="json"))
    total = 0
    for root, dirs, names in os.walk(scratch, followlinks=False):
        dirs.sort()
        for name in sorted(names):
            path = Path(root) / name
            rel = path.relative_to(scratch).as_posix()
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode):
                shipment.skipped.append(f"{rel} (not a regular file)")
            elif info.st_size > max_file:
                shipment.skipped.append(f"{rel} ({_size(info.st_size)}, over {_size(max_file)})")
            elif total + info.st_size > max_total or len(shipment.files) >= max_files:
                shipment.skipped.append(f"{rel} (the artefacts passed {_size(max_total)} or {max_files} files)")
            else:
                shipment.files[rel] = _read_regular(path)
                total += len(shipment.files[rel])
    return shipment


def _size(count: int) -> str:
    return f"{count / MIB:.0f} MiB" if count >= MIB else f"{count} bytes"


def _read_regular(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def unpack(shipment: Shipment, scratch: Path, on_event: EventSink | None = None) -> TrainResult:
    """Write the files under ``scratch`` and return the result; artefacts that did not travel are dropped from it,
    with a warning, so nothing later opens a missing file."""
    scratch = Path(scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    for rel, data in shipment.files.items():
        target = scratch / _safe(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    result = TrainResult.model_validate(shipment.result)
    missing = {name: path for name, path in result.artifacts.items() if not (scratch / _safe(path)).exists()}
    for name in missing:
        del result.artifacts[name]
    for what in shipment.skipped:
        _warn(on_event, f"artefact not copied back from the Ray worker: {what}")
    if missing:
        _warn(on_event, f"artefacts missing on the driver: {', '.join(sorted(missing))}")
    return result


def _safe(rel: str) -> PurePosixPath:
    path = PurePosixPath(rel)
    if path.is_absolute() or ".." in path.parts:
        raise ValueError(f"artefact path {rel!r} leaves the scratch directory")
    return path


def _warn(on_event: EventSink | None, message: str) -> None:
    log.warning(message)
    if on_event is not None:
        on_event({"event": "warning", "message": message})
