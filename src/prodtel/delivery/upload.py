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

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from prodtel.delivery.exitplan import Handoff

LOCK = "upload.lock"
OPTIONS_ENV = "PRODTEL_UPLOADER_TRANSPORT"
BUDGET_S = 60.0


def spawn(
    state_dir: str, url: str, handoff: Handoff | None = None, options: str | None = None
) -> bool:
    """Start the uploader unless one is running; never blocks. True if started. Uses
    posix_spawn where there is one: no subprocess import and no fork on the exit path.
    `handoff`: a request whose answer is late; its socket is inherited by the uploader, which
    reads the answer even when another uploader runs (see exitplan). `options`: the
    transport's settings as JSON (`transport_options`), passed in the child's environment, not
    its argv, which any user can read (headers may hold an ingest key)."""
    try:
        return _spawn(state_dir, url, handoff, options)
    finally:
        if handoff is not None:
            os.close(handoff.fd)  # the child has its own copy


def _spawn(state_dir: str, url: str, handoff: Handoff | None, options: str | None) -> bool:
    if handoff is None and _locked(state_dir):
        return False
    argv = [sys.executable, "-m", "prodtel.delivery.upload", state_dir, url]
    if handoff is not None:
        argv.append(handoff.arg())
    env = {**os.environ, "PRODTEL_UPLOADER": "1"}
    if options:
        env[OPTIONS_ENV] = options
    try:
        from prodtel import platform

        # posix_spawn+setsid; Windows: detached flags. The handoff socket stays open in the child.
        platform.spawn_detached(argv, env, (handoff.fd,) if handoff is not None else ())
    except OSError:
        return False
    return True


def _locked(state_dir: str) -> bool:
    from prodtel import platform

    try:
        with open(os.path.join(state_dir, LOCK), "a") as f:
            platform.lock_nb(f)
            platform.unlock(f)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def settle(state_dir: str, handoff: Handoff, url: str | None = None) -> str:
    """Read the late answer to the exiting process's request; record what it says, and how
    long it took (an answer that never came within the timeout counts as that long)."""
    from prodtel.delivery import exitplan
    from prodtel.delivery.outbox import Outbox

    outcome, after = exitplan.read_answer(handoff, timeout=10.0)
    if url and handoff.sent_at:
        exitplan.save(state_dir, url, max(time.time() - handoff.sent_at, 0.0))
    box = Outbox(state_dir)
    try:
        batches = box.batches(handoff.ids)
        if outcome == "retry":
            box.release(batches, time.time() + after)
        else:
            if outcome == "ok":  # they left: `telemetry show` lists them
                from prodtel import sentlog

                sentlog.append_requests(state_dir, [(b.kind, b.body) for b in batches])
            box.done(batches, "sent" if outcome == "ok" else "dropped_rejected")
    finally:
        box.close()
    return outcome


def run(state_dir: str, url: str, budget_s: float = BUDGET_S, handoff: str | None = None) -> int:
    from prodtel import platform
    from prodtel.delivery.outbox import Outbox
    from prodtel.delivery.transport import HttpTransport

    os.makedirs(state_dir, exist_ok=True)
    if handoff:
        from prodtel.delivery.exitplan import Handoff

        settle(state_dir, Handoff.parse(handoff), url)
    with open(os.path.join(state_dir, LOCK), "a") as lock:
        try:
            platform.lock_nb(lock)
        except BlockingIOError:
            return 0  # another uploader has it
        from prodtel.crash import spool
        from prodtel.delivery.outbox_sink import OutboxSink

        stats: dict[str, int] = {}
        sink = None
        if url:
            box, http = Outbox(state_dir), HttpTransport(url, **transport_options(state_dir))
            sink = OutboxSink(None, box, http, stats, state_dir, log_foreign=True)  # type: ignore[arg-type]
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


def transport_options(state_dir: str) -> dict[str, Any]:
    """The parent's transport settings from OPTIONS_ENV, plus the health reporter."""
    import json

    from prodtel.delivery.health import Reporter

    try:
        options = dict(json.loads(os.environ.get(OPTIONS_ENV) or "{}"))
    except (ValueError, TypeError):
        options = {}
    allowed = {"headers", "ca_file", "client_cert", "client_key", "timeout"}
    return {**{k: v for k, v in options.items() if k in allowed}, "report": Reporter(state_dir)}


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], sys.argv[2], handoff=sys.argv[3] if len(sys.argv) > 3 else None))
