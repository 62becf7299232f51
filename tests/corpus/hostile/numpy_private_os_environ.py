# expect: static: numpy._core: private names are off limits
# sandbox: ok: LEAK:<none>
import numpy as np


def compute_reward(prev, action, state):
    environ = np._core.records.os.environ
    raise RuntimeError("LEAK:" + environ.get("OPENAI_API_KEY", "<none>") + " vars=" + ",".join(sorted(environ)))
