#!/usr/bin/env python3
"""Runs a command and writes what it cost, for bench/poll.

    rusage.py OUT TIMEOUT_S CMD [ARG...]

Runs CMD (standard streams inherited), killing it with SIGKILL if it is
still running after TIMEOUT_S seconds, and writes one line to OUT:

    USER_S SYS_S WALL_S STATUS

from wait4(2), so CPU times have microsecond resolution (GNU time prints
hundredths).  STATUS is the exit status, 128+N for signal N, or
"timeout".  Exits with 0 whatever the command did: OUT says.  No peak RSS:
Linux carries the spawning process's peak into a child's ru_maxrss across
exec, so it would not be the command's; read /proc/PID/status for that.

Python 3 standard library only.
"""
import os
import signal
import sys
import time


def main(argv):
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    out, limit, cmd = argv[1], float(argv[2]), argv[3:]
    t0 = time.monotonic()
    try:
        pid = os.posix_spawnp(cmd[0], cmd, os.environ)
    except OSError as e:
        sys.stderr.write("rusage.py: %s: %s\n" % (cmd[0], e))
        with open(out, "w") as f:
            f.write("0 0 0 127\n")
        return 0
    timed_out = []

    def on_alarm(signum, frame):
        timed_out.append(True)
        os.kill(pid, signal.SIGKILL)

    # A blocking wait4: the alarm's handler kills the command, then wait4
    # (retried by Python after the signal) reaps it.
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    _, status, ru = os.wait4(pid, 0)
    signal.setitimer(signal.ITIMER_REAL, 0)
    wall = time.monotonic() - t0
    if timed_out:
        st = "timeout"
    elif os.WIFEXITED(status):
        st = str(os.WEXITSTATUS(status))
    else:
        st = str(128 + os.WTERMSIG(status))
    with open(out, "w") as f:
        f.write("%.6f %.6f %.6f %s\n" % (ru.ru_utime, ru.ru_stime, wall, st))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
