"""The detached uploader: sends what a process left in the outbox after it exited.

A process that could not deliver within its exit budget starts
`python -m prodtel.delivery.upload <state_dir> <url>` in a new session and leaves; the uploader
retries with normal timeouts for up to a minute. It also sends the Sentry envelopes spooled by
`prodtel.crash.spool` (an empty <url>: only those). One uploader per state dir (a lock file); the
next run of the app sends anything still left.
"""

from __future__ import annotations

import os
import sys
import time

LOCK = "upload.lock"
BUDGET_S = 60.0


def spawn(state_dir: str, url: str) -> bool:
    """Start the uploader unless one is running; never blocks. True if started. Uses
    posix_spawn where there is one: no subprocess import and no fork on the exit path."""
    if _locked(state_dir):
        return False
    argv = [sys.executable, "-m", "prodtel.delivery.upload", state_dir, url]
    env = {**os.environ, "PRODTEL_UPLOADER": "1"}
    try:
        if hasattr(os, "posix_spawn"):
            devnull = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]
            os.posix_spawn(sys.executable, argv, env, file_actions=devnull, setsid=True)
        else:
            import subprocess

            subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
            )
    except OSError:
        return False
    return True


def _locked(state_dir: str) -> bool:
    import fcntl

    try:
        with open(os.path.join(state_dir, LOCK), "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(f, fcntl.LOCK_UN)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def run(state_dir: str, url: str, budget_s: float = BUDGET_S) -> int:
    import fcntl

    from prodtel.delivery.outbox import Outbox
    from prodtel.delivery.transport import HttpTransport

    os.makedirs(state_dir, exist_ok=True)
    with open(os.path.join(state_dir, LOCK), "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # another uploader has it
        from prodtel.crash import spool
        from prodtel.delivery.sinks import OutboxSink

        stats: dict[str, int] = {}
        sink = None
        if url:
            box, http = Outbox(state_dir), HttpTransport(url)
            sink = OutboxSink(None, box, http, stats, state_dir)  # type: ignore[arg-type]
        envelopes = spool.Spool(state_dir)  # direct-to-Sentry events the app could not send
        end = time.monotonic() + budget_s
        while time.monotonic() < end:
            step = min(end, time.monotonic() + 10.0)
            done = sink is None or sink.send(step)
            if spool.send(envelopes, step) and done:
                return 0
            wait = sink.backoff_until - time.monotonic() if sink is not None else 0.0
            time.sleep(min(max(wait, 1.0 if sink is None else 0.2), 10.0))
        return 1


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], sys.argv[2]))
