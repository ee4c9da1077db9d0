"""Machine facts for Sentry's contexts: what the machine is, never who or which.

Every platform-specific call lives here (/proc, os.sysconf, resource.getrusage, ctypes), each
behind a `sys.platform` check that mypy understands; a fact the platform does not give cheaply
is None and is left out of the context.
"""

from __future__ import annotations

import functools
import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from prodtel.telemetry import Telemetry


def contexts(t: Telemetry, started_at: float) -> dict[str, dict[str, Any]]:
    """os, device, runtime, app and culture contexts. No host name, user or path. Values that
    would single out a machine are coarsened: total memory to 128 MiB, boot time to the hour.
    `started_at` stands in for the process start where the platform does not tell it."""
    static = _static()
    free = memory()[1]
    s = t.settings
    return {
        "os": dict(static["os"]),
        "runtime": dict(static["runtime"]),
        "device": _present({**static["device"], "free_memory": _round(free, 1 << 20)}),
        "app": _present(
            {
                "app_name": s.app,
                "app_version": s.version,
                "app_start_time": _iso(process_start(started_at)),
                "app_memory": rss(),
            }
        ),
        "culture": dict(static["culture"]),
    }


@functools.cache
def _static() -> dict[str, dict[str, Any]]:
    """The facts that do not change while the process runs, read once."""
    import platform

    from prodtel import resource

    boot = boot_time()
    return {
        "os": os_context(),
        "runtime": {
            "name": platform.python_implementation(),
            "version": ".".join(map(str, sys.version_info[:3])),
            "build": sys.version,
        },
        "device": {
            "arch": resource.normalise_arch(platform.machine()),
            "processor_count": os.cpu_count(),
            "memory_size": _round(memory()[0], 128 << 20),
            "boot_time": _iso(boot - boot % 3600) if boot else None,
        },
        "culture": culture(),
    }


def os_context() -> dict[str, Any]:
    import platform

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
    return {k: v for k, v in osc.items() if v}


def memory() -> tuple[int | None, int | None]:
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
            ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(st))
            return st.total, st.avail
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), None
    except (OSError, ValueError, AttributeError):
        return None, None


def _meminfo() -> dict[str, int]:
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, _, rest = line.partition(":")
            out[k] = int(rest.split()[0]) * 1024
    return out


def boot_time() -> float | None:
    """When the machine booted (epoch seconds), or None."""
    try:
        if sys.platform.startswith("linux"):
            with open("/proc/stat") as f:
                for line in f:
                    if line.startswith("btime "):
                        return float(line.split()[1])
        elif sys.platform == "win32":
            import ctypes

            up = ctypes.windll.kernel32.GetTickCount64
            up.restype = ctypes.c_ulonglong
            return time.time() - float(up()) / 1000
    except (OSError, ValueError, AttributeError):
        pass
    return None


def process_start(fallback: float) -> float:
    """When this process started (Linux: from /proc), else `fallback`."""
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/self/stat") as f:
                ticks = int(f.read().rsplit(")", 1)[1].split()[19])
            boot = boot_time()
            if boot:
                return boot + ticks / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            pass
    return fallback


def rss() -> int | None:
    """Resident memory of this process in bytes (peak where current is not at hand)."""
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            pass
    if sys.platform != "win32":
        try:
            import resource as rusage

            peak = rusage.getrusage(rusage.RUSAGE_SELF).ru_maxrss
            return int(peak if sys.platform == "darwin" else peak * 1024)  # darwin: bytes
        except (ImportError, OSError):
            pass
    return None


def culture() -> dict[str, Any]:
    """Locale (`de_DE`) and time zone, preferably as an IANA name (`Europe/Berlin`)."""
    import locale

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


def _present(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _round(n: int | None, step: int) -> int | None:
    return None if not n else max(step, round(n / step) * step)


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
