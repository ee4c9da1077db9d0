"""Display helpers shared by the terminal and HTML renderers (the JSON keeps raw values)."""

from __future__ import annotations

from typing import Any

OS_NAMES = {"darwin": "macOS", "windows": "Windows", "linux": "Linux", "freebsd": "FreeBSD"}
ARCH_NAMES = {"amd64": "x86_64", "x86": "x86 (32-bit)", "arm32": "arm (32-bit)"}


def os_name(v: str) -> str:
    return OS_NAMES.get(v, v or "(unknown)")


def arch_name(v: str) -> str:
    return ARCH_NAMES.get(v, v or "(unknown)")


def pct(x: Any) -> str:
    return "-" if x is None else f"{100 * float(x):.1f}%"


def num(x: Any, digits: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, int):
        return f"{x:,}"
    return f"{float(x):,.{digits}f}"
