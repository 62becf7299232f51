"""The source tree maps autoreward.envs/.sandbox/.prompts as an install does (Ray workers import from the cwd)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The checkout's root first on sys.path, and no editable-install finder: what a Ray worker started in the root sees.
PROBE = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in getattr(f, "__module__", "").lower()]
assert not any("editable" in getattr(f, "__module__", "").lower() for f in sys.meta_path)
sys.path.insert(0, {root!r})
import autoreward, autoreward.envs.state, autoreward.sandbox.run, autoreward.prompts
for module in (autoreward, autoreward.envs.state, autoreward.sandbox.run, autoreward.prompts):
    print(module.__file__)
try:
    import autoreward.bench
except ModuleNotFoundError:
    print("bench: not mapped")
"""


def test_source_tree_maps_the_three_folders(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(root=str(ROOT))], capture_output=True, text=True, cwd=tmp_path, check=True
    ).stdout.splitlines()
    assert out[0] == str(ROOT / "autoreward" / "__init__.py")
    assert out[1] == str(ROOT / "envs" / "state.py")
    assert out[2] == str(ROOT / "sandbox" / "run.py")
    assert out[3] == str(ROOT / "prompts" / "__init__.py")
    assert out[4] == "bench: not mapped"  # only the three mapped names, not every folder of the checkout


@pytest.mark.slow
def test_ray_task_from_the_repository_root() -> None:
    """A Ray worker puts the driver's cwd (the checkout root) first on sys.path; autoreward.envs must resolve."""
    pytest.importorskip("ray")
    script = (
        "import ray\n"
        "ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)\n"
        "@ray.remote\n"
        "def probe():\n"
        "    import autoreward.envs.state, autoreward.sandbox.jobs\n"
        "    return autoreward.envs.state.__file__\n"
        "print(ray.get([probe.remote() for _ in range(3)]))\n"
        "ray.shutdown()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "envs/state.py" in done.stdout
