"""When two reward programs behave the same: a fingerprint of the numbers they returned on the dry run's states.

Syntax-tree keys (``autoreward.normalise``) miss programs that are written differently and pay the same (``-(b -
a)`` against ``a - b``, a clip that never binds); a small model re-sampled with its rejected programs writes many
such. The checker already holds every answer, on the same fixed States for every program of a card, so it
fingerprints them here, in the process that never loads the program: the totals, then each component's column
(component names dropped: labels do not change what is paid), each quantised relative to its own scale.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np

from autoreward.critic.judge import Answer

SIGNIFICANT = 4  # values equal to 4 significant digits of their column's scale count as equal


def fingerprint(answers: Sequence[Answer], expected: int) -> str | None:
    """A hex digest of the behaviour of a program that answered all ``expected`` calls with numbers; None
    otherwise (a program that failed or stopped early has no behaviour to compare)."""
    if len(answers) != expected or expected == 0 or any(a.total is None or a.failure for a in answers):
        return None
    totals = np.array([a.total for a in answers], dtype=float)
    names = sorted({name for a in answers for name in a.components})
    columns = [np.array([a.components.get(name, 0.0) for a in answers], dtype=float) for name in names]
    parts = sorted(_quantised(column) for column in columns)
    digest = hashlib.sha256(_quantised(totals))
    for part in parts:
        digest.update(b"|" + part)
    return digest.hexdigest()[:32]


def _quantised(column: np.ndarray) -> bytes:
    """The column as integers on a grid of ``10**-SIGNIFICANT`` of its largest magnitude, with that magnitude
    itself rounded to ``SIGNIFICANT`` digits: a scale and a shape, both robust to float noise."""
    if not np.all(np.isfinite(column)):
        return b"nonfinite:" + np.nan_to_num(column, nan=0.0, posinf=1.0, neginf=-1.0).astype(np.float64).tobytes()
    scale = float(np.max(np.abs(column))) if len(column) else 0.0
    if scale == 0.0:
        return b"zero"
    exponent = math.floor(math.log10(scale))
    rounded_scale = round(scale, SIGNIFICANT - 1 - exponent)
    steps = np.rint(column / scale * 10**SIGNIFICANT).astype(np.int64)
    return repr(rounded_scale).encode() + b":" + steps.tobytes()
