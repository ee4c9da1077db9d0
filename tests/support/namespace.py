"""Private mount namespaces (`unshare -m`, root) for tests that give one child process its own
resolv.conf, /etc/hosts or tmpfs, without touching the machine.

`require(what)` skips where namespaces cannot be made (a developer without root), but fails
under CI, which runs as root: there a missing `unshare` is a broken machine, not a test to skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache

import pytest

UNSHARE = ["unshare", "-m", "--propagation", "private"]


def available() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("unshare") is not None


@cache
def can_mount_tmpfs() -> bool:
    if not available():
        return False
    probe = subprocess.run([*UNSHARE, "sh", "-c", "mount -t tmpfs t /mnt"], capture_output=True)
    return probe.returncode == 0


def require(what: str, ok: bool | None = None) -> None:
    """Skip (or, under CI, fail) unless a private mount namespace can do `what`."""
    if available() if ok is None else ok:
        return
    message = f"{what} needs root and unshare -m (a private mount namespace)"
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(message)
    pytest.skip(message)
