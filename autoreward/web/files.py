"""Which artefact files a page links to, and how a file of a run is served: as data, never as a page.

A candidate's directory holds what its training worker wrote, and the artefact names its result lists are the
worker's own. So a page links only the parent's fixed names for each kind of artefact, and a file is served
with a media type a browser never runs (video, PNG, JSON, plain text) or else as a download (``attachment``);
``web.headers`` adds ``nosniff`` and a Content-Security-Policy that sandboxes whatever a file is.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

# Kind -> the candidate-relative paths the parent writes it at, newest layout first (older runs: at the top).
ARTEFACTS: dict[str, tuple[str, ...]] = {
    "video": ("train/video/video.mp4", "video.mp4"),  # the program-free job's clip, never the worker's own
    "learning_curve": ("train/learning_curve.png", "learning_curve.png"),
    "components": ("train/components.png", "components.png"),
    "stats": ("train/stats.json", "stats.json"),
    "model": ("train/policy.pt",),
}
TEXT = "text/plain; charset=utf-8"
# Types a browser shows but never runs; SVG and HTML are not among them (an SVG can carry a script).
SAFE_TYPES = {
    ".mp4": "video/mp4", ".webm": "video/webm", ".png": "image/png", ".json": "application/json",
    ".py": TEXT, ".txt": TEXT, ".log": TEXT, ".md": TEXT,
}  # fmt: skip
DOWNLOAD = "application/octet-stream"


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
    """The type ``path`` is served as: a safe one by its suffix, else a download."""
    return SAFE_TYPES.get(path.suffix.lower(), DOWNLOAD)


def candidate_files(run_id: str, run_dir: Path, name: str) -> dict[str, str]:
    """Kind -> URL for each artefact kind the parent wrote for candidate ``name`` (its first existing path)."""
    urls = {}
    for kind, paths in ARTEFACTS.items():
        found = next((f"{name}/{p}" for p in paths if inside(run_dir, f"{name}/{p}") is not None), None)
        if found is not None:
            urls[kind] = file_url(run_id, found)
    return urls
