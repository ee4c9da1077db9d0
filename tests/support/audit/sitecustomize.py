"""Test-only: record every socket connect this process makes (audit hook), one per line."""

import os
import sys

_log = os.environ.get("PRODTEL_TEST_CONNECT_LOG")

if _log:

    def _hook(event: str, args: tuple) -> None:  # type: ignore[type-arg]
        if event == "socket.connect":
            with open(_log, "a") as f:
                f.write(f"{args[1]!r}\n")

    sys.addaudithook(_hook)
