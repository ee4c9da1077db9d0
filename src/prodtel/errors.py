"""Crash and error reporting: exception hooks, OTel `exception` records, optional sentry-sdk.

`install(t)` (called by `prodtel.init()`) chains onto `sys.excepthook`, `threading.excepthook`
and, when `init()` runs inside an event loop, that loop's exception handler (see `watch_loop`).
An unhandled exception becomes an `exception` record (severity FATAL, needs level `crash`);
`capture(t, e, handled=True)` (`prodtel.capture_exception()`) makes one with severity ERROR
(needs level `error`). Both are scrubbed and cut to the catalog's limits here, before `track()`,
so strict mode never raises inside a hook.

With a Sentry DSN (`init(sentry_dsn=...)` or SENTRY_DSN) the same exceptions also go to a
Sentry-compatible server through sentry-sdk, imported only then. Its `before_send` is the same
consent gate and scrubber; see `sentry_options()` for everything that is turned off.
"""

from __future__ import annotations

import sys
import threading
import time
import weakref

from prodtel.consent import levels

TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable
    from types import TracebackType
    from typing import Any

    from prodtel.telemetry import Telemetry

EXCEPTION_EVENT = "exception"
SERVER_NAME = "prodtel"  # sentry-sdk's default is the host name
NOT_REPORTED = (KeyboardInterrupt, SystemExit, GeneratorExit)  # not crashes
# Free-form maps in a Sentry event: their keys may carry data too, so they are scrubbed.
FREE_FORM = frozenset({"extra", "tags", "data", "headers", "cookies", "env", "contexts"})
# Machine-made fields of a Sentry event that the scrubber must leave alone.
KEEP = frozenset(
    {"event_id", "timestamp", "start_timestamp", "level", "platform", "sdk", "type", "release",
     "environment", "server_name", "dist", "fingerprint"}
)  # fmt: skip
# Fields that are dropped outright, whatever put them there.
DROP = frozenset({"user", "modules", "server_name"})

transport_override: Any = None  # tests: a sentry-sdk transport used instead of HTTP

_t: Telemetry | None = None
_sentry: Any = None  # the sentry-sdk client we configured, or None
_previous: dict[str, Any] = {}  # hooks we chained onto, restored by uninstall()
_started_at = time.time()
_exit_deadline: float | None = None  # set by a crash flush: the exit shares its budget
_watched: weakref.WeakSet[Any] = weakref.WeakSet()  # loops watch_loop() has hooked


# -- the public entry points ------------------------------------------------------------------
def install(t: Telemetry) -> None:
    """Hook unhandled exceptions (sys, threading, asyncio) and, with a DSN, sentry-sdk.
    Calling it again re-targets the hooks to `t`; they are chained only once."""
    global _t
    _t = t
    if "sys" not in _previous:
        _previous["sys"] = sys.excepthook
        sys.excepthook = _excepthook
        _previous["threading"] = threading.excepthook
        threading.excepthook = _threading_hook
        import atexit

        atexit.register(_at_exit)
    if "asyncio" in sys.modules:  # never import asyncio just to look for a loop
        try:
            watch_loop()
        except RuntimeError:  # no running loop: call watch_loop() from inside it
            pass
    if t.settings.sentry_dsn:
        _start_sentry(t)


def uninstall() -> None:
    """Restore the previous hooks and close the Sentry client (tests, re-configuration)."""
    global _t, _exit_deadline
    if "sys" in _previous:
        # Put back what we chained onto, unless someone has hooked in after us since.
        prev_sys, prev_thr = _previous.pop("sys"), _previous.pop("threading")
        if sys.excepthook is _excepthook:
            sys.excepthook = prev_sys
        if threading.excepthook is _threading_hook:
            threading.excepthook = prev_thr
        import atexit

        atexit.unregister(_at_exit)
    _stop_sentry(0.0)
    _t = None
    _exit_deadline = None


def capture(t: Telemetry, error: BaseException | None, handled: bool) -> None:
    """Emit an `exception` record for `error` (scrubbed) and forward it to Sentry if set up.
    `error` defaults to the exception being handled. Never raises."""
    if error is None:
        error = sys.exc_info()[1]
    if error is None:
        return
    _report(t, error, handled, "prodtel" if handled else "prodtel.unhandled")


def watch_loop(loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Report exceptions that reach an asyncio loop's exception handler (a task's exception
    never retrieved, a failing callback), then chain to the handler set before. Default: the
    running loop. `init()` does this itself when it runs inside the loop; a loop started after
    `init()` (e.g. by `asyncio.run()`) needs this call from inside it. An exception that escapes
    `asyncio.run()` reaches `sys.excepthook` and needs nothing."""
    import asyncio

    loop = loop or asyncio.get_running_loop()
    if loop in _watched:
        return
    previous = loop.get_exception_handler()

    def handler(lp: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        e = context.get("exception")
        t = _t
        try:
            if t is not None and isinstance(e, BaseException) and not _skip(e):
                _report(t, e, False, "asyncio")
                t.flush(0)  # wake the exporter; never block the loop
        except Exception:
            pass
        if previous is not None:
            previous(lp, context)
        else:
            lp.default_exception_handler(context)

    loop.set_exception_handler(handler)
    _watched.add(loop)


# -- the OTel record --------------------------------------------------------------------------
def qualified_type(e: BaseException) -> str:
    """`json.decoder.JSONDecodeError`; builtins stay bare (`RuntimeError`)."""
    cls = type(e)
    mod = getattr(cls, "__module__", "") or ""
    return cls.__qualname__ if mod == "builtins" else f"{mod}.{cls.__qualname__}"


def message(e: BaseException) -> str:
    try:
        return str(e)
    except Exception:  # a broken __str__ must not break the report
        return f"<unprintable {type(e).__name__}>"


def stacktrace(e: BaseException) -> str:
    """The whole chain, as Python prints it (what OTel puts in `exception.stacktrace`)."""
    import traceback

    try:
        return "".join(traceback.format_exception(e))
    except Exception:
        return f"{qualified_type(e)}: {message(e)}\n"


def clip(text: str, limit: int, keep_tail: bool = False) -> str:
    """Cut `text` to at most `limit` characters. With `keep_tail`, keep the start (the outermost
    frames) and, mostly, the end (the raising frame and the final exception line), cut at line
    boundaries around a marker line."""
    if len(text) <= limit:
        return text
    if not keep_tail or limit < 200:
        return text[:limit]
    marker = "  [... {} characters cut ...]\n"
    room = limit - len(marker.format(len(text)))
    head_end = text.rfind("\n", 0, room // 4) + 1
    tail_start = text.find("\n", len(text) - (room - head_end)) + 1
    if tail_start <= 0 or tail_start <= head_end:
        tail_start = len(text) - (room - head_end)
    return text[:head_end] + marker.format(tail_start - head_end) + text[tail_start:]


def attributes(t: Telemetry, e: BaseException, handled: bool) -> dict[str, object] | None:
    """The `exception` record's attributes: scrubbed first (a cut must never split a secret
    so that the scrubber misses it), then cut to the catalog's max_length."""
    ev = t.settings.catalog.events.get(EXCEPTION_EVENT)
    if ev is None:
        return None
    scrub = t.scrubber
    raw: dict[str, object] = {
        "exception.type": qualified_type(e),
        "exception.message": message(e),
        "exception.stacktrace": stacktrace(e),
        "exception.handled": handled,
    }
    out: dict[str, object] = {}
    for key, value in raw.items():
        a = ev.attrs.get(key)
        if a is None or type(value) is not a.type:
            continue
        if isinstance(value, str):
            tail = key == "exception.stacktrace"
            value = clip(scrub(clip(value, 8 * a.max_length, tail)), a.max_length, tail)
        out[key] = value
    return out


def _report(t: Telemetry, e: BaseException, handled: bool, mechanism: str) -> None:
    severity = levels.ERROR_SEVERITY if handled else levels.FATAL_SEVERITY
    if not t.decision.allows(severity):
        return  # not even built: the level does not let it leave (before_send would agree)
    try:
        if t.worker is not None:
            attrs = attributes(t, e, handled)
            if attrs is not None:
                t.track(EXCEPTION_EVENT, attrs, severity)
    except Exception:
        t.stats["internal_errors"] = t.stats.get("internal_errors", 0) + 1
    if _sentry is not None:
        try:
            _to_sentry(e, handled, mechanism)
        except Exception:
            t.stats["internal_errors"] = t.stats.get("internal_errors", 0) + 1


def _skip(e: BaseException) -> bool:
    return isinstance(e, NOT_REPORTED)


# -- hooks ------------------------------------------------------------------------------------
def _excepthook(tp: type[BaseException], e: BaseException, tb: TracebackType | None) -> None:
    t = _t
    # An interactive session survives its exceptions: those are typos, not crashes.
    reported = t is not None and not _skip(e) and not hasattr(sys, "ps1")
    if reported and t is not None:
        try:
            _report(t, e, False, "excepthook")
        except Exception:
            reported = False
    try:
        _previous.get("sys", sys.__excepthook__)(tp, e, tb)
    finally:
        if reported and t is not None:
            _flush_all(t, t.settings.exit_timeout)  # the process is about to die


def _threading_hook(args: threading.ExceptHookArgs) -> None:
    t, e = _t, args.exc_value
    if t is not None and e is not None and not _skip(e):
        try:
            _report(t, e, False, "threading")
            t.flush(0)  # wake the exporter; the process lives on
        except Exception:
            pass
    _previous.get("threading", threading.__excepthook__)(args)


def _flush_all(t: Telemetry, timeout: float) -> None:
    """Flush the OTLP exporter and Sentry side by side, within one budget. The exit that
    follows a crash gets only what is left of it (see `_at_exit`)."""
    global _exit_deadline
    deadline = time.monotonic() + timeout
    _exit_deadline = deadline
    client = _sentry
    th = None
    if client is not None:
        th = threading.Thread(target=client.flush, kwargs={"timeout": timeout}, daemon=True)
        th.start()
    try:
        t.flush(timeout)
    finally:
        if th is not None:
            th.join(max(0.0, deadline - time.monotonic()))


def _at_exit() -> None:
    """One exit budget for everything: close Sentry in parallel with prodtel's own shutdown,
    and after a crash give both only what the crash flush left of the budget. (sentry-sdk's
    AtexitIntegration, with its 2 s wait and "Press Ctrl-C" message, is off.)"""
    t = _t
    if t is None or (_sentry is None and _exit_deadline is None):
        return  # nothing of ours to bound: prodtel's own atexit hook does the rest
    now = time.monotonic()
    deadline = _exit_deadline if _exit_deadline is not None else now + t.settings.exit_timeout
    left = max(0.0, deadline - now)
    th = threading.Thread(target=_stop_sentry, args=(left,), daemon=True)
    th.start()
    try:
        import prodtel

        if prodtel.current() is t:
            prodtel.shutdown(left)  # runs once more from init()'s atexit hook: then a no-op
        else:
            t.shutdown(left)
    finally:
        th.join(max(0.0, deadline - time.monotonic()))


# -- Sentry -----------------------------------------------------------------------------------
def _start_sentry(t: Telemetry) -> None:
    global _sentry
    try:
        import sentry_sdk
    except ImportError:
        t.decision.problems.append(
            "a Sentry DSN is set but sentry-sdk is not installed: crash reports go to the "
            "OTLP endpoint only (install prodtel[sentry])"
        )
        return
    _stop_sentry(t.settings.exit_timeout)
    try:
        opts = sentry_options(t)
        if transport_override is not None:
            opts["transport"] = transport_override
        sentry_sdk.init(**opts)
    except Exception as e:  # a malformed DSN, mostly; never print the DSN itself
        t.decision.problems.append(f"Sentry is off: {type(e).__name__}: {t.scrubber(str(e))}")
        return
    _sentry = sentry_sdk.get_client()


def _stop_sentry(timeout: float) -> None:
    global _sentry
    client, _sentry = _sentry, None
    if client is not None:
        client.close(timeout=timeout)  # no callback: no "Press Ctrl-C" message


def sentry_options(t: Telemetry) -> dict[str, Any]:
    """Options for `sentry_sdk.init()`: consent gate and scrubber in `before_send`, no host
    name, no local variables, no PII, no sessions, tracing, logs or metrics, no default
    integrations (argv, modules, stdlib breadcrumbs, the excepthook and atexit ones), only
    log breadcrumbs and dedup. Filtered to the options the installed sentry-sdk knows."""
    import logging

    from sentry_sdk.consts import DEFAULT_OPTIONS
    from sentry_sdk.integrations.dedupe import DedupeIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    s = t.settings
    opts: dict[str, Any] = {
        "dsn": s.sentry_dsn,
        "release": f"{s.app}@{s.version}",
        "environment": s.environment or "production",
        "server_name": SERVER_NAME,
        "include_local_variables": False,
        "include_source_context": True,
        "default_integrations": False,
        "auto_enabling_integrations": False,
        "integrations": [
            DedupeIntegration(),
            LoggingIntegration(level=logging.INFO, event_level=None),
        ],
        "before_send": before_send,
        "before_breadcrumb": before_breadcrumb,
        "before_send_transaction": _drop,
        "before_send_log": _drop,
        "before_send_metric": _drop,
        "traces_sample_rate": None,
        "profiles_sample_rate": None,
        "auto_session_tracking": False,
        "send_client_reports": False,
        "attach_stacktrace": False,
        "shutdown_timeout": s.exit_timeout,
        "spotlight": False,
        "enable_logs": False,
        "debug": False,
    }
    if "data_collection" not in DEFAULT_OPTIONS:
        # Older 2.x. Newer ones deprecate the option; leaving it unset means False there.
        opts["send_default_pii"] = False
    return {k: v for k, v in opts.items() if k in DEFAULT_OPTIONS}


def _drop(item: Any, hint: Any) -> None:
    return None


def _to_sentry(e: BaseException, handled: bool, mechanism: str) -> None:
    import sentry_sdk
    from sentry_sdk.utils import event_from_exception

    client = _sentry
    if client is None:
        return
    event, hint = event_from_exception(
        e, client_options=client.options, mechanism={"type": mechanism, "handled": handled}
    )
    event["level"] = "error" if handled else "fatal"
    sentry_sdk.capture_event(event, hint=hint)


def is_unhandled(event: dict[str, Any]) -> bool:
    values = (event.get("exception") or {}).get("values") or []
    return any((v.get("mechanism") or {}).get("handled") is False for v in values)


def allowed(t: Telemetry | None, event: dict[str, Any]) -> bool:
    """The consent gate for a Sentry event, from the live decision: `crash` lets unhandled
    exceptions through, `error` also handled ones and messages, `off` nothing."""
    if t is None or t.worker is None:
        return False
    sev = levels.FATAL_SEVERITY if is_unhandled(event) else levels.ERROR_SEVERITY
    return t.decision.allows(sev)


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
    t = _t
    if not allowed(t, event) or t is None:
        return None
    event["contexts"] = {**(event.get("contexts") or {}), **contexts(t)}
    return scrub_event(t.scrubber, event)


def before_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
    t = _t
    if t is None or t.decision.level == levels.OFF:
        return None
    out = _walk(t.scrubber, crumb, False)
    return out  # type: ignore[no-any-return]


def scrub_event(scrubber: Callable[[str], str], event: dict[str, Any]) -> dict[str, Any]:
    """Every string of a Sentry event through the scrubber (messages, exception values, frame
    paths and source lines, breadcrumbs, extra, request, tags, contexts); user, modules and
    local variables dropped; the server name fixed."""
    out: dict[str, Any] = {}
    for k, v in event.items():
        if k in DROP:
            continue
        out[k] = v if k in KEEP else _walk(scrubber, v, k in FREE_FORM)
    out["server_name"] = SERVER_NAME
    extra = out.get("extra")
    if isinstance(extra, dict):
        extra.pop("sys.argv", None)
    return out


def _walk(scrub: Callable[[str], str], v: Any, keys: bool) -> Any:
    if isinstance(v, str):
        return scrub(v)
    if isinstance(v, dict):
        return {
            (scrub(k) if keys and isinstance(k, str) else k): _walk(scrub, x, k in FREE_FORM)
            for k, x in v.items()
            if k != "vars"  # local variables: off in the options, dropped here in any case
        }
    if isinstance(v, list | tuple):
        return [_walk(scrub, x, keys) for x in v]
    return v


# -- Sentry contexts: what the machine is, never who or which -----------------------------------
_static: dict[str, dict[str, Any]] = {}


def contexts(t: Telemetry) -> dict[str, dict[str, Any]]:
    """os, device, runtime, app and culture contexts. No host name, user or path. Values that
    would single out a machine are coarsened: total memory to 128 MiB, boot time to the hour."""
    import os
    import platform

    from prodtel import resource

    if not _static:
        osc: dict[str, Any] = {"kernel_version": platform.release()}
        if sys.platform.startswith("linux"):
            osc["name"] = "Linux"
            try:
                rel = platform.freedesktop_os_release()
                osc["version"] = rel.get("VERSION_ID") or platform.release()
                osc["distribution_name"] = rel.get("ID")
                osc["distribution_version"] = rel.get("VERSION_ID")
                osc["distribution_pretty_name"] = rel.get("PRETTY_NAME")
            except OSError:
                osc["version"] = platform.release()
        elif sys.platform == "darwin":
            osc.update(name="macOS", version=platform.mac_ver()[0])
        elif sys.platform == "win32":
            osc.update(name="Windows", version=platform.version())
        else:
            osc.update(name=platform.system(), version=platform.release())
        _static["os"] = {k: v for k, v in osc.items() if v}
        _static["runtime"] = {
            "name": platform.python_implementation(),
            "version": ".".join(map(str, sys.version_info[:3])),
            "build": sys.version,
        }
        boot = _boot_time()
        _static["device"] = {
            "arch": resource.normalise_arch(platform.machine()),
            "processor_count": os.cpu_count(),
            "memory_size": _round(_memory()[0], 128 << 20),
            "boot_time": _iso(boot - boot % 3600) if boot else None,
        }
        _static["culture"] = _culture()
    free = _memory()[1]
    s = t.settings
    return {
        "os": dict(_static["os"]),
        "runtime": dict(_static["runtime"]),
        "device": _present({**_static["device"], "free_memory": _round(free, 1 << 20)}),
        "app": _present(
            {
                "app_name": s.app,
                "app_version": s.version,
                "app_start_time": _iso(_process_start()),
                "app_memory": _rss(),
            }
        ),
        "culture": dict(_static["culture"]),
    }


def _present(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _round(n: int | None, step: int) -> int | None:
    return None if not n else max(step, round(n / step) * step)


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _meminfo() -> dict[str, int]:
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, _, rest = line.partition(":")
            out[k] = int(rest.split()[0]) * 1024
    return out


def _memory() -> tuple[int | None, int | None]:
    """(total, available) bytes, or None where the platform does not say cheaply."""
    try:
        if sys.platform.startswith("linux"):
            m = _meminfo()
            return m.get("MemTotal"), m.get("MemAvailable")
        if sys.platform == "win32":
            import ctypes

            class MemStatus(ctypes.Structure):
                _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong)] + [
                    (n, ctypes.c_ulonglong)
                    for n in ("total", "avail", "tp", "ap", "tv", "av", "ave")
                ]

            st = MemStatus()
            st.dwLength = ctypes.sizeof(MemStatus)
            ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(st))  # type: ignore[attr-defined]
            return st.total, st.avail
        import os

        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), None
    except (OSError, ValueError, AttributeError):
        return None, None


def _boot_time() -> float | None:
    try:
        if sys.platform.startswith("linux"):
            with open("/proc/stat") as f:
                for line in f:
                    if line.startswith("btime "):
                        return float(line.split()[1])
        if sys.platform == "win32":
            import ctypes

            up = ctypes.windll.kernel32.GetTickCount64  # type: ignore[attr-defined]
            up.restype = ctypes.c_ulonglong
            return time.time() - up() / 1000
    except (OSError, ValueError, AttributeError):
        pass
    return None


def _process_start() -> float:
    """When this process started (Linux: from /proc), else when prodtel was imported."""
    try:
        import os

        with open("/proc/self/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        boot = _boot_time()
        if boot:
            return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        pass
    return _started_at


def _rss() -> int | None:
    """Resident memory of this process in bytes (peak where current is not at hand)."""
    try:
        import os

        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource as rusage

        peak = rusage.getrusage(rusage.RUSAGE_SELF).ru_maxrss
        return int(peak if sys.platform == "darwin" else peak * 1024)
    except (ImportError, OSError):
        return None


def _culture() -> dict[str, Any]:
    import locale
    import os

    out: dict[str, Any] = {}
    try:
        loc = locale.getlocale()[0] or os.environ.get("LC_ALL") or os.environ.get("LANG")
        if loc:
            out["locale"] = loc.split(".")[0]
    except ValueError:
        pass
    # An IANA name (Europe/Berlin) from TZ or /etc/localtime, else the abbreviation (CET).
    tz = os.environ.get("TZ", "").lstrip(":")
    if "/" not in tz or tz.startswith("/"):
        try:
            link = os.readlink("/etc/localtime")
            tz = link.split("zoneinfo/", 1)[1] if "zoneinfo/" in link else ""
        except OSError:
            tz = ""
    out["timezone"] = tz or time.strftime("%Z")
    return out
