"""The record that travels from `track()` to the exporter.

A plain tuple, because `track()` builds one per event and tuples are the cheapest object Python
makes: (time_ns, severity, event name, attributes, context). `context` is the global context
dict at the time of the event; it is replaced, never mutated, by `set_context()`.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final, TypeAlias

    Record: TypeAlias = tuple[int, int, str, dict[str, Any], dict[str, Any]]

TIME: Final = 0
SEVERITY: Final = 1
NAME: Final = 2
ATTRS: Final = 3
CONTEXT: Final = 4
UID = "log.record.uid"


def merged(r: Record) -> dict[str, Any]:
    """The attributes as they are sent: context first, then the event's own."""
    return {**r[CONTEXT], **r[ATTRS]} if r[CONTEXT] else dict(r[ATTRS])
