"""Native crashes: a segfault, abort() or other fatal signal ends the process before any Python
hook runs. `faulthandler` (C code, no thread) writes the Python frames into a per-run file in
the state dir; a clean exit removes it. The next run turns a leftover into an `exception`
record with the crashed run's resource (`collect()`).

The file: one JSON header line (the run's resource, a record id), then what faulthandler wrote.
A file is in use while its process lives (POSIX: an flock; Windows: an open file cannot be
renamed), so concurrent runs of the same app never report each other. A reader claims a file
by renaming it, so each crash is reported at most once.
"""

from __future__ import annotations

import os
import sys

from prodtel import platform

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any

    from prodtel.record import Record
    from prodtel.telemetry import Telemetry

DIRNAME = "crashes"
SUFFIX = ".fault"
CLAIMED = ".claimed"
MAX_FILES = 16  # reported per run; the rest wait for the next one
MAX_READ = 256 * 1024  # faulthandler prints at most 100 frames per thread
MAX_AGE_S = 7 * 24 * 3600  # as the outbox: older files are deleted unread
# faulthandler's first line names the signal ("Fatal Python error: Segmentation fault").
SIGNALS = {
    "Segmentation fault": "SIGSEGV",
    "Aborted": "SIGABRT",
    "Floating-point exception": "SIGFPE",
    "Floating point exception": "SIGFPE",
    "Bus error": "SIGBUS",
    "Illegal instruction": "SIGILL",
}


class _Run:
    """This process's crash file, while faulthandler writes into it."""

    def __init__(self) -> None:
        self.file: IO[str] | None = None
        self.path: str | None = None
        self.resource: dict[str, str] = {}
        self.directory = ""
        self.fork_hooked = False


run = _Run()


def start(t: Telemetry) -> None:
    """Report leftovers of earlier runs (if the level allows), then enable faulthandler into
    this run's file. Leaves faulthandler alone if someone else enabled it (python -X
    faulthandler, PYTHONFAULTHANDLER, pytest)."""
    import faulthandler

    directory = os.path.join(t.state_dir, DIRNAME)
    try:
        collect(t, directory)
    except Exception:
        t.stats["internal_errors"] = t.stats.get("internal_errors", 0) + 1
    if run.file is None and not faulthandler.is_enabled():
        run.directory, run.resource = directory, dict(t.resource)
        _open()
        if not run.fork_hooked:
            run.fork_hooked = platform.register_at_fork(after_in_child=_after_fork)


def _open() -> None:
    """Create this run's file, write its header, hold it in use, point faulthandler at it."""
    import faulthandler
    import json

    try:
        os.makedirs(run.directory, exist_ok=True)
        uid = os.urandom(16).hex()
        path = os.path.join(run.directory, f"{uid}{SUFFIX}")
        f = open(path, "w", encoding="utf-8")  # noqa: SIM115 (held until exit)
        header = {"v": 1, "uid": uid, "pid": os.getpid(), "resource": run.resource}
        f.write(json.dumps(header) + "\n")
        f.flush()
        _hold(f)
        faulthandler.enable(file=f, all_threads=True)
    except Exception:
        return
    run.file, run.path = f, path


def stop() -> None:
    """A clean exit (or uninstall): disable faulthandler and remove this run's file."""
    f, path = run.file, run.path
    run.file = run.path = None
    if f is None:
        return
    import faulthandler

    try:
        faulthandler.disable()
        f.close()
        if path:
            os.unlink(path)
    except Exception:
        pass


def _after_fork() -> None:
    """A forked child gets its own file: its crash must name its own process, and the parent's
    file stays the parent's."""
    f = run.file
    if f is None:
        return
    run.file = run.path = None
    _open()
    try:
        f.close()  # the parent's lock and file stay the parent's
    except Exception:
        pass


def _hold(f: IO[str]) -> None:
    if sys.platform != "win32":
        platform.lock_nb(f)


def _in_use(path: str) -> bool:
    if sys.platform == "win32":
        return False  # the claim (a rename) fails while the file is open

    try:
        with open(path, "rb") as f:
            try:
                platform.lock_nb(f)
            except BlockingIOError:  # held by a live run, or no locks here: leave it
                return True
    except OSError:
        return True  # gone, or not ours to read
    return False


# -- reading leftovers ------------------------------------------------------------------------
def collect(t: Telemetry, directory: str) -> int:
    """Turn leftover crash files in `directory` into `exception` records (level `crash` and
    up); returns how many. Files of live runs are skipped, old and empty ones deleted."""
    import time

    try:
        names = os.listdir(directory)
    except OSError:
        return 0
    from prodtel.consent import levels

    allowed = t.decision.allows(levels.FATAL_SEVERITY)
    now, found = time.time(), []
    for name in names:
        path = os.path.join(directory, name)
        if name.endswith(CLAIMED):  # a reader died mid-way: never report twice
            _remove_if_older(path, now - 60)
        elif name.endswith(SUFFIX) and path != run.path:
            if _remove_if_older(path, now - MAX_AGE_S) or _in_use(path):
                continue
            found.append(path)
    sent = 0
    for path in sorted(found)[:MAX_FILES]:
        claimed = path + CLAIMED
        try:
            os.rename(path, claimed)
        except OSError:
            continue  # another reader has it, or (Windows) its process is alive
        try:
            report = read(claimed)
            if report is not None and allowed:
                emit(t, report)
                sent += 1
        finally:
            try:
                os.unlink(claimed)
            except OSError:
                pass
    return sent


def _remove_if_older(path: str, cutoff: float) -> bool:
    try:
        if os.stat(path).st_mtime < cutoff:
            os.unlink(path)
            return True
    except OSError:
        return True
    return False


class Report:
    """What a crash file says: the crashed run's resource, record id, time and faulthandler's
    text (unscrubbed)."""

    def __init__(self, resource: dict[str, str], uid: str, time_ns: int, text: str) -> None:
        self.resource = resource
        self.uid = uid
        self.time_ns = time_ns
        self.text = text

    @property
    def reason(self) -> str:
        """`Segmentation fault`, from `Fatal Python error: Segmentation fault`."""
        first = self.text.split("\n", 1)[0]
        return first.split(": ", 1)[1].strip() if ": " in first else first.strip()

    @property
    def type(self) -> str:
        """The signal's name (SIGSEGV...), Windows' exception name, or `NativeCrash`."""
        reason = self.reason
        if self.text.startswith("Windows fatal exception: "):
            return "EXCEPTION_" + "_".join(reason.upper().split())
        return SIGNALS.get(reason, "NativeCrash")


def read(path: str) -> Report | None:
    """Parse a crash file; None when it holds no crash (a run that ended without its atexit
    hooks: os._exit(), SIGKILL) or is not one of ours."""
    import json

    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            head = json.loads(f.readline())
            text = f.read(MAX_READ)
        mtime_ns = os.stat(path).st_mtime_ns
        resource = head["resource"]
        uid = head["uid"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    start = min(
        (i for i in (text.find("Fatal Python error: "), text.find("Windows fatal exception: "))
         if i >= 0),
        default=-1,
    )  # fmt: skip
    if start < 0 or not isinstance(resource, dict) or not _is_uid(uid):
        return None
    res = {str(k): str(v) for k, v in resource.items()}
    return Report(res, uid, mtime_ns, _clean(text[start:]))


def _is_uid(uid: object) -> bool:
    return isinstance(uid, str) and len(uid) == 32 and all(c in "0123456789abcdef" for c in uid)


def _clean(text: str) -> str:
    """Faulthandler's text without the list of loaded extension modules (it names installed
    packages, which are never sent)."""
    lines = [ln for ln in text.rstrip("\n").split("\n") if not ln.startswith("Extension modules:")]
    return "\n".join(lines).rstrip("\n") + "\n"


def attributes(t: Telemetry, report: Report) -> dict[str, object]:
    """The `exception` record: the signal, a message saying it was a native crash, the
    scrubbed frames, handled=false (cut to the catalog's limits, like any crash)."""
    from prodtel.crash import record

    raw = {
        "exception.type": report.type,
        "exception.message": f"native crash: {report.reason} (the Python frames are from "
        "faulthandler)",
        "exception.stacktrace": report.text,
        "exception.handled": False,
    }
    return record.clean(t, raw) or {}


def emit(t: Telemetry, report: Report) -> None:
    """Put the record in the outbox under the crashed run's resource, ready to send. Sinks
    without an outbox (tests' capture, debug) get it as a record of this run."""
    from prodtel.consent import levels
    from prodtel.crash.record import EXCEPTION_EVENT
    from prodtel.record import UID

    attrs = attributes(t, report)
    if not attrs or t.worker is None:
        return
    attrs[UID] = report.uid
    rec: Record = (report.time_ns, levels.FATAL_SEVERITY, EXCEPTION_EVENT, attrs, {})
    sink: Any = t.worker.sink
    outbox, encoder = getattr(sink, "outbox", None), getattr(sink, "encoder", None)
    if outbox is None or encoder is None:
        sink.write([rec])
        return
    import gzip

    body = type(encoder)(report.resource).encode([rec])
    outbox.put([(gzip.compress(body, compresslevel=1), 1, len(body), rec[0], rec[0])])
    t.worker.wake.set()
