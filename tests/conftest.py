"""Shared fixtures. Tests talk to real parts: real envs, real processes, real servers on 127.0.0.1."""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")
