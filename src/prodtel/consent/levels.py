"""Consent levels, ordered: off < crash < error < all. Plain ints keep `import prodtel` cheap.

`local` is `all` kept on this machine: everything is recorded and shown (`telemetry show`), and
nothing is uploaded (Go telemetry's local mode). A decision carries it as `local=True`."""

from __future__ import annotations

OFF, CRASH, ERROR, ALL = 0, 1, 2, 3
NAMES = ("off", "crash", "error", "all")
LOCAL = "local"
TRUTHY = frozenset({"1", "true", "yes", "on", "y"})

# Severity numbers (OTel) that each level admits: crashes are FATAL, handled errors ERROR.
FATAL_SEVERITY = 21
ERROR_SEVERITY = 17
# TelemetryEnabled/TelemetryDisabled use INFO2: they pass at every level above off, because
# counting opt-ins and opt-outs is what makes them visible (the levels gate usage, not these).
LIFECYCLE_SEVERITY = 10


def parse(value: str | None) -> int | None:
    """'off'|'crash'|'error'|'all' (any case) to a level; None for anything else."""
    if value is None:
        return None
    v = value.strip().lower()
    return NAMES.index(v) if v in NAMES else None


def parse_choice(value: str | None) -> tuple[int, bool] | None:
    """Like `parse`, also accepting 'local': (level, local)."""
    if value is not None and value.strip().lower() == LOCAL:
        return ALL, True
    lv = parse(value)
    return None if lv is None else (lv, False)


def name(level: int) -> str:
    return NAMES[level]


def truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in TRUTHY


def needed(severity: int) -> int:
    """The lowest level at which a record of this severity may leave."""
    if severity >= FATAL_SEVERITY:
        return CRASH
    if severity >= ERROR_SEVERITY:
        return ERROR
    if severity == LIFECYCLE_SEVERITY:
        return CRASH
    return ALL
