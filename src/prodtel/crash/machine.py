"""Machine facts for Sentry's contexts: what the machine is, never who or which.

The platform-specific calls live in `prodtel.platform` (facts: /proc, os.sysconf,
resource.getrusage, ctypes); a fact the platform does not give cheaply is None and is left out
of the context.
"""

from __future__ import annotations

import functools
import os
import sys
import time

from prodtel.platform.facts import boot_time, memory, process_start, rss

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

    from prodtel import platform as host
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
            "arch": resource.normalise_arch(host.machine()),
            "processor_count": os.cpu_count(),
            "memory_size": _round(memory()[0], 128 << 20),
            "boot_time": _iso(boot - boot % 3600) if boot else None,
        },
        "culture": culture(),
    }


def os_context() -> dict[str, Any]:
    import platform

    from prodtel import platform as host

    if sys.platform == "win32":  # platform.release()/version() may ask WMI there: seconds
        version = host.os_version()
        return {
            "name": "Windows",
            **({"version": version, "kernel_version": version} if version else {}),
        }
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
    else:
        osc.update(name=platform.system(), version=platform.release())
    return {k: v for k, v in osc.items() if v}


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
