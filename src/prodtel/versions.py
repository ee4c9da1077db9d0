"""Version strings: the one sort key (the usage page's changelog, the analytics report)."""

from __future__ import annotations


def version_key(v: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key for dotted versions: numeric parts numerically ('1.10' after '1.9'), other
    parts as text after any number; '-' separates parts like '.' does."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in v.replace("-", ".").split("."))
