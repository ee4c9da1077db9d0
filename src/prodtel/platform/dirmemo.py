"""platformdirs' answers for `dirs`, memoized, so a start-up does not import platformdirs.

`import platformdirs` costs 8-13 ms (it pulls in pathlib, tempfile, re, shutil...), which a user
who disabled telemetry would pay on every start of the app just to find the consent file. So
platformdirs' answer is remembered, keyed by everything it can depend on for a user dir on POSIX:
the environment (minus a few shell variables that change with every `cd` or login and that
platformdirs never reads), the uid (home from the password database when HOME is unusable), the
platform and the installed platformdirs' files (an upgrade changes them). Any change recomputes
with platformdirs itself, so the answer is always platformdirs' own.

The memo (answers for the last MAX_KEYS environments) lives next to prodtel's bytecode
(`__pycache__/dirs.<uid>.json`, mode 0600) and, like bytecode, is not written when
PYTHONDONTWRITEBYTECODE is set or the directory is read-only; then every start asks platformdirs.
On Windows (known folders come from the shell API) it always does.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Set by the shell per directory, terminal or login session; platformdirs reads none of them.
VOLATILE = frozenset(
    {"PWD", "OLDPWD", "_", "SHLVL", "COLUMNS", "LINES", "SSH_CLIENT", "SSH_CONNECTION",
     "SSH_TTY", "WINDOWID", "TERM_SESSION_ID", "ITERM_SESSION_ID", "TMUX_PANE", "GPG_TTY"}
)  # fmt: skip
MAX_KEYS = 16  # environments remembered (a few terminals, a CI job, a cron job...)
MEMO_DIR = os.path.join(os.path.dirname(__file__), "__pycache__")

_key: str | None = None  # this process's fingerprint, computed once
_memo: dict[str, Any] | None = None


def lookup(kind: str, app: str) -> str:
    """platformdirs.PlatformDirs(app, appauthor=False).user_<kind>_dir ("config", "state")."""
    return _lookup(kind, app)


def _ask_platformdirs(kind: str, app: str) -> str:
    from platformdirs import PlatformDirs

    value: str = getattr(PlatformDirs(app, appauthor=False), f"user_{kind}_dir")
    return value


def _lookup(kind: str, app: str) -> str:
    global _key, _memo
    if sys.platform == "win32":
        return _ask_platformdirs(kind, app)  # known folders: not a pure function of the env
    if _key is None:
        _key = fingerprint()
    if _memo is None:
        _memo = _read(_memo_path())
    entry = _memo.get(_key)
    name = f"{kind}:{app}"
    hit = entry.get(name) if isinstance(entry, dict) else None
    if isinstance(hit, str) and _key:
        return hit
    value = _ask_platformdirs(kind, app)
    if _key:
        entry = {**(entry if isinstance(entry, dict) else {}), name: value}
        _memo.pop(_key, None)
        _memo[_key] = entry  # the newest last; the oldest go first
        while len(_memo) > MAX_KEYS:
            del _memo[next(iter(_memo))]
        _write(_memo_path(), _memo)
    return value


def fingerprint() -> str:
    """A digest of every input platformdirs reads for a user dir on POSIX; "" when the
    installed platformdirs cannot be located on sys.path (then nothing is memoized)."""
    stamp = _platformdirs_stamp()
    if stamp is None:
        return ""
    env = sorted(kv for kv in os.environ.items() if kv[0] not in VOLATILE)
    try:
        from _blake2 import blake2b  # the C module hashlib wraps, without hashlib's OpenSSL load
    except ImportError:  # pragma: no cover (an interpreter without it)
        from hashlib import blake2b
    text = repr((sys.platform, _uid(), stamp, env))
    return blake2b(text.encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()


def _platformdirs_stamp() -> tuple[str, int, int, int] | None:
    """Where platformdirs would be imported from, and its files' mtime and size."""
    for entry in sys.path:
        pkg = os.path.join(entry or ".", "platformdirs")
        try:
            init = os.stat(os.path.join(pkg, "__init__.py"))
            version = os.stat(os.path.join(pkg, "version.py"))
        except OSError:
            continue
        return pkg, init.st_mtime_ns, version.st_mtime_ns, init.st_size + version.st_size
    return None


def _uid() -> int:
    if sys.platform == "win32":
        return -1
    return os.getuid()


def _memo_path() -> str:
    return os.path.join(MEMO_DIR, f"dirs.{_uid()}.json")


def _read(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_uid != _uid():
                return {}  # someone else's file: not trusted
            raw = f.read()
    except OSError:
        return {}
    from prodtel import jsonread

    try:
        data = jsonread.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _write(path: str, memo: dict[str, Any]) -> None:
    if sys.dont_write_bytecode:
        return
    import json

    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(MEMO_DIR, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "w", encoding="utf-8") as f:
            json.dump(memo, f)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
