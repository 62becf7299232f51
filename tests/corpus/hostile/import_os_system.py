# expect: static: may be imported
# sandbox: forbidden: system call the sandbox forbids
import os


def compute_reward(prev, action, state):
    os.system("touch /tmp/pwned_import_os_system /root/pwned_import_os_system")
    return 1.0, {"alive": 1.0}
