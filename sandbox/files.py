"""Reading what a sandboxed process wrote: regular files only, never through a link, always bounded.

A job's scratch directory is writable by the program (or by a process that read its output), so anything in it
may be a symlink to a host file, a FIFO that blocks, or a file of any size. The parent reads from it only through
these functions: ``O_NOFOLLOW`` on the last component, a fresh directory the parent made (so no component above
it is the program's), ``fstat`` on the opened file, and a byte cap.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Collection
from pathlib import Path, PurePosixPath

MIB = 1024 * 1024
MAX_FILE_BYTES = 200 * MIB
MAX_TOTAL_BYTES = 1024 * MIB
MAX_FILES = 10_000


class NotPlainFile(OSError):
    """The path is a link, a directory, a device or a pipe, or larger than the cap."""


def read_plain(path: Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file ``path``, not following a link, at most ``max_bytes`` (else NotPlainFile)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotPlainFile(f"{path.name} is not a regular file")
        if info.st_size > max_bytes:
            raise NotPlainFile(f"{path.name} is {info.st_size} bytes, over {max_bytes}")
        chunks, left = [], max_bytes + 1
        while left > 0 and (chunk := os.read(fd, min(left, MIB))):
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise NotPlainFile(f"{path.name} grew past {max_bytes} bytes")
    return data


def read_tail(path: Path, chars: int) -> str:
    """The last ``chars`` bytes of a regular file as text ("" for anything else)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return ""
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return ""
        os.lseek(fd, max(0, info.st_size - chars), os.SEEK_SET)
        return os.read(fd, chars).decode(errors="replace")
    finally:
        os.close(fd)


def write_new(path: Path, data: bytes) -> None:
    """Create ``path`` (replacing a file of the parent's, never writing through a link) with ``data``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.exists():
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def safe_relative(rel: str) -> PurePosixPath:
    """``rel`` as a relative path that stays inside its directory (else ValueError)."""
    path = PurePosixPath(rel)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ValueError(f"artefact path {rel!r} leaves the scratch directory")
    return path


def collect(
    root: Path, max_file: int = MAX_FILE_BYTES, max_total: int = MAX_TOTAL_BYTES, max_files: int = MAX_FILES
) -> tuple[dict[str, bytes], list[str]]:
    """Every regular file under ``root`` within the bounds (relative path -> bytes), and what was left, named."""
    files: dict[str, bytes] = {}
    skipped: list[str] = []
    total = 0
    for base, dirs, names in os.walk(root, followlinks=False):
        dirs.sort()
        for name in sorted(names):
            path = Path(base) / name
            rel = path.relative_to(root).as_posix()
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode):
                skipped.append(f"{rel} (not a regular file)")
            elif info.st_size > max_file:
                skipped.append(f"{rel} ({_size(info.st_size)}, over {_size(max_file)})")
            elif total + info.st_size > max_total or len(files) >= max_files:
                skipped.append(f"{rel} (the files passed {_size(max_total)} or {max_files} files)")
            else:
                try:
                    files[rel] = read_plain(path, max_file)
                except OSError as err:  # replaced by a link or a pipe between lstat and open
                    skipped.append(f"{rel} ({err.strerror or err})")
                    continue
                total += len(files[rel])
        dirs[:] = [d for d in dirs if not (Path(base) / d).is_symlink()]
    return files, skipped


def copy_out(root: Path, dest: Path, reserved: Collection[str] = (), **bounds: int) -> list[str]:
    """Copy ``collect(root)`` under ``dest``, except what lies under a ``reserved`` top-level name (the caller's
    own files); returns what was skipped. A file that cannot be written is skipped, never raised."""
    files, skipped = collect(root, **bounds)
    for rel, data in files.items():
        if PurePosixPath(rel).parts[0] in reserved:
            skipped.append(f"{rel} (a name the parent keeps for its own files)")
            continue
        try:
            write_new(dest / safe_relative(rel), data)
        except (OSError, ValueError) as err:
            skipped.append(f"{rel} ({type(err).__name__})")
    return skipped


def usage(root: Path, max_entries: int) -> tuple[int, int]:
    """Bytes on disk and entries under ``root`` (links not followed); counting stops past ``max_entries``."""
    used, entries, stack = 0, 0, [str(root)]
    while stack and entries <= max_entries:
        try:
            with os.scandir(stack.pop()) as listing:
                for entry in listing:
                    entries += 1
                    info = entry.stat(follow_symlinks=False)
                    used += info.st_blocks * 512
                    if stat.S_ISDIR(info.st_mode):
                        stack.append(entry.path)
        except OSError:  # removed or replaced while we looked
            continue
    return used, entries


def _size(count: int) -> str:
    return f"{count / MIB:.0f} MiB" if count >= MIB else f"{count} bytes"
