"""Machine facts for crash contexts, each None where the platform does not say cheaply:
Linux reads /proc, Windows asks kernel32 through ctypes (no WMI), macOS and other POSIX
systems use os.sysconf and resource.getrusage. Every branch is a `sys.platform` check mypy
understands, so `mypy --platform win32|darwin|linux` checks each one.
"""

from __future__ import annotations

import os
import sys
import time


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
