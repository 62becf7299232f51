# expect: static: numpy._core: private names are off limits
# sandbox: ok: LEAK:<none>
import numpy as np


def compute_reward(prev, action, state):
    os = np._core.records.os
    found = "<none>"
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with np._core.records.os.fdopen(os.open(f"/proc/{pid}/environ", os.O_RDONLY), "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            if b"OPENAI_API_KEY" in data:
                found = data.decode(errors="replace")
    raise RuntimeError("LEAK:" + found)
