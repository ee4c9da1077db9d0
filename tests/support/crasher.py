"""A small app that dies the way C code kills a process, for the native crash tests.

    python crasher.py <segv|abort|raise|ok|exit> <version>

Reads CRASHER_ENDPOINT, CRASHER_STATE and CRASHER_DSN (optional); the level comes from
CRASHER_TELEMETRY like any app's. `ok` tracks one event and exits cleanly.
"""

from __future__ import annotations

import ctypes
import os
import sys

import prodtel
from prodtel import Attr, Catalog, Event

CATALOG = Catalog(
    "crasher",
    [Event("work", "One unit of work.", since="1.0", attrs=[Attr("step", str, "The step.")])],
)


def read_null_pointer() -> None:
    ctypes.string_at(0)  # SIGSEGV inside C code


def call_abort() -> None:
    os.abort()  # SIGABRT, as a failed assert() in a C extension


def work(mode: str) -> None:
    prodtel.track("work", step=mode)
    prodtel.flush(5.0)  # the session is known to the server before the process dies
    if mode == "segv":
        read_null_pointer()
    elif mode == "abort":
        call_abort()
    elif mode == "exit":
        os._exit(0)  # no atexit hooks: not a crash
    elif mode == "raise":
        raise RuntimeError(f"crasher failed in {os.environ.get('PRODTEL_ENVIRONMENT')}")


def main() -> None:
    mode, version = sys.argv[1], sys.argv[2]
    prodtel.init(
        CATALOG,
        version=version,
        endpoint=os.environ.get("CRASHER_ENDPOINT"),
        state_dir=os.environ["CRASHER_STATE"],
        sentry_dsn=os.environ.get("CRASHER_DSN") or None,
        show_notice=False,
    )
    work(mode)


if __name__ == "__main__":
    main()
