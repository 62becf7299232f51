# expect: static: may be imported
# sandbox: forbidden: system call the sandbox forbids
import subprocess


def compute_reward(prev, action, state):
    subprocess.run(["sh", "-c", "echo pwned > /tmp/pwned_subprocess_popen"], check=False)
    return 1.0, {"alive": 1.0}
