"""Processors between `track()` and the exporter. Each is a small callable with one job:
take a list of records, return the records that may go on.

    gate -> scrub -> stamp -> sink

They run on the background thread, in batches, so `track()` stays cheap.
"""

from __future__ import annotations

from prodtel.resource import new_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from prodtel.consent.resolve import Decision
    from prodtel.record import Record
    from prodtel.scrub import Scrubber

    Processor = Callable[[list[Record]], list[Record]]


class Gate:
    """Drops every record the current consent does not allow. The decision is read per batch,
    so a disable takes effect for everything not yet exported."""

    def __init__(self, decision: Callable[[], Decision], drops: dict[str, int]) -> None:
        self.decision = decision
        self.drops = drops

    def __call__(self, records: list[Record]) -> list[Record]:
        d = self.decision()
        kept = [r for r in records if d.allows(r.severity) and r.time_ns >= d.since_ns]
        if len(kept) != len(records):
            self.drops["consent"] = self.drops.get("consent", 0) + len(records) - len(kept)
        return kept


class Scrub:
    """Removes personal data from every string attribute."""

    def __init__(self, scrubber: Scrubber) -> None:
        self.scrubber = scrubber

    def __call__(self, records: list[Record]) -> list[Record]:
        s = self.scrubber
        for r in records:
            for k, v in r.attrs.items():
                if isinstance(v, str):
                    r.attrs[k] = s(v)
        return records


def stamp(records: list[Record]) -> list[Record]:
    """Gives each record a unique `log.record.uid`, so the analytics side can dedup."""
    for r in records:
        r.attrs.setdefault("log.record.uid", new_id())
    return records


def run(processors: list[Processor], records: list[Record]) -> list[Record]:
    for p in processors:
        if not records:
            break
        records = p(records)
    return records
