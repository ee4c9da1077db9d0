"""The last delivery outcome, kept in the state dir so `status` in any later run can say why
records are not arriving (a wrong CA, a proxy refusing, 401 from the collector).

One small JSON file, written only when the outcome changes: `{"error": str | null, "at": ts}`.
Error texts come from the transport and hold no header values or credentials.
"""

from __future__ import annotations

import json
import os
import time

FILE = "delivery.json"


class Reporter:
    """Called by the transport when its last error changes (None: delivered again)."""

    def __init__(self, state_dir: str) -> None:
        self.path = os.path.join(state_dir, FILE)

    def __call__(self, error: str | None) -> None:
        if error is None and not os.path.exists(self.path):
            return  # nothing to clear: no write on a healthy exit path
        data = {"error": error, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        tmp = f"{self.path}.{os.getpid()}.tmp"
        try:
            with open(tmp, "w") as f:
                json.dump(data, f)
            os.replace(tmp, self.path)
        except OSError:  # a broken state dir is reported elsewhere; never break delivery
            pass


def last_error(state_dir: str) -> tuple[str, str] | None:
    """(error, when) of the last failed delivery, if the last outcome was a failure."""
    try:
        with open(os.path.join(state_dir, FILE)) as f:
            data = json.load(f)
        error = data.get("error")
        return (str(error), str(data.get("at", "?"))) if error else None
    except (OSError, ValueError, AttributeError):
        return None
