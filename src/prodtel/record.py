"""The record that travels from `track()` to the exporter: small, with no OTel objects in it."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Record:
    """One event. `attrs` already merges the global context; `uid` is `log.record.uid`."""

    __slots__ = ("attrs", "name", "severity", "time_ns")

    def __init__(self, time_ns: int, severity: int, name: str, attrs: dict[str, Any]) -> None:
        self.time_ns = time_ns
        self.severity = severity
        self.name = name
        self.attrs = attrs

    def __repr__(self) -> str:
        return f"Record({self.name!r}, {self.attrs!r})"
