# expect: static: may be imported
# sandbox: forbidden: system call the sandbox forbids
import socket


def compute_reward(prev, action, state):
    try:
        socket.create_connection(("127.0.0.1", 80), timeout=1).sendall(b"pwned")
    except OSError:
        pass
    return 1.0, {"alive": 1.0}
