"""Which artefact files a page may link to and serve: only regular files inside the run's own directory."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

# Names the trainer uses when a result lists no artefacts (older runs, or a result still being written).
KNOWN = {"video": "video.mp4", "learning_curve": "learning_curve.png", "components": "components.png"}
TEXT = "text/plain; charset=utf-8"
MEDIA_TYPES = {
    ".mp4": "video/mp4", ".webm": "video/webm", ".png": "image/png", ".svg": "image/svg+xml",
    ".json": "application/json", ".py": TEXT, ".txt": TEXT, ".log": TEXT,
}  # fmt: skip


def inside(run_dir: Path, relative: str) -> Path | None:
    """``run_dir / relative`` resolved (symlinks followed) when it is a file inside ``run_dir``, else None."""
    base = run_dir.resolve()
    try:
        target = (base / relative).resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    if target == base or not target.is_relative_to(base) or not target.is_file():
        return None
    return target


def file_url(run_id: str, relative: str) -> str:
    return f"/runs/{quote(run_id, safe='')}/files/{quote(relative)}"


def media_type(path: Path) -> str:
    return MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")


def candidate_files(run_id: str, run_dir: Path, name: str, artifacts: dict[str, str]) -> dict[str, str]:
    """Artefact name -> URL for every listed (or conventionally named) file that exists in the candidate dir."""
    listed = {**KNOWN, **artifacts}
    urls = {}
    for key, relative in listed.items():
        path = f"{name}/{relative}"
        if inside(run_dir, path) is not None:
            urls[key] = file_url(run_id, path)
    return urls
