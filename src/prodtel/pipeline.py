"""Processors between `track()` and the exporter. Each is a small callable with one job:
take a list of records, return the records that may go on.

    validate -> gate -> scrub -> stamp -> sink

They run on the background thread, in batches, so `track()` stays cheap.
"""

from __future__ import annotations

import os

from prodtel import atfork
from prodtel.counters import count
from prodtel.record import ATTRS, CONTEXT, NAME, SEVERITY, TIME, UID

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Protocol

    from prodtel.consent.resolve import Decision
    from prodtel.record import Record
    from prodtel.scrub import Scrubber
    from prodtel.validate import Validator

    Processor = Callable[[list[Record]], list[Record]]

    class Consent(Protocol):
        """What the gate reads: the decision in force (consent.watch.ConsentWatch)."""

        def current(self) -> Decision: ...


class Validate:
    """Checks each record against the catalog: a bad attribute is dropped and counted, a bad
    event dropped whole. Here, not in `track()`, so the host's thread only enqueues (strict
    mode has already checked, and raised, on the caller's thread)."""

    def __init__(self, validator: Validator) -> None:
        self.event = validator.event

    def __call__(self, records: list[Record]) -> list[Record]:
        event, kept = self.event, []
        for r in records:
            attrs = event(r[NAME], r[ATTRS])
            if attrs is r[ATTRS]:  # the usual case: valid as recorded
                kept.append(r)
            elif attrs is not None:
                kept.append((r[0], r[1], r[2], attrs, r[4]))
        return kept


class Gate:
    """Drops every record the current consent does not allow. The decision is read per batch,
    so a disable takes effect for everything not yet exported."""

    def __init__(self, consent: Consent, drops: dict[str, int]) -> None:
        self.consent = consent
        self.drops = drops

    def __call__(self, records: list[Record]) -> list[Record]:
        d = self.consent.current()
        if d.since_ns == 0 and d.until_ns == 0:
            # No opt-in date, no disable cut-off: the level alone decides, once per severity.
            allowed = {s for s in {r[SEVERITY] for r in records} if d.allows(s)}
            kept = [r for r in records if r[SEVERITY] in allowed and r[TIME] >= 0]
        else:
            allows = d.allows_record
            kept = [r for r in records if allows(r[SEVERITY], r[TIME])]
        if len(kept) != len(records):
            count(self.drops, "consent", len(records) - len(kept))
        return kept


class Scrub:
    """Removes personal data from every string attribute and context value. Results are
    cached: the same strings recur across events, and a regex pass is the costly part."""

    MAX_CACHE = 4096

    # Resource values that come from the app or the OS, not from prodtel: scrubbed in place
    # before the first record is encoded (an environment named after a laptop, a version
    # string with a build path, a kernel release with a user's name).
    RESOURCE_KEYS = ("service.version", "deployment.environment.name", "os.version")

    def __init__(
        self, make_scrubber: Callable[[], Scrubber], resource: dict[str, str] | None = None
    ) -> None:
        self.make = make_scrubber  # called on first use, on the worker thread (regex compiling)
        self._scrubber: Scrubber | None = None
        self.cache: dict[str, str] = {}
        self.contexts: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
        self.resource = resource  # None once scrubbed

    def warm(self) -> None:
        if self._scrubber is None:
            self._scrubber = self.make()
        res, self.resource = self.resource, None
        if res:
            for k in self.RESOURCE_KEYS:
                if k in res:
                    res[k] = self.text(res[k])

    def text(self, v: str) -> str:
        out = self.cache.get(v)
        if out is None:
            if len(self.cache) >= self.MAX_CACHE:
                self.cache.clear()
            if self._scrubber is None:
                self._scrubber = self.make()
            out = self.cache[v] = self._scrubber(v)
        return out

    def __call__(self, records: list[Record]) -> list[Record]:
        if self.resource is not None:
            self.warm()  # a burst drained on the caller's thread before the worker warmed up
        text, cache = self.text, self.cache
        for i, r in enumerate(records):  # in place: the batch is this pipeline's own list
            attrs = r[ATTRS]
            for k, v in attrs.items():
                if type(v) is str:
                    clean = cache.get(v)  # the usual case, without a call
                    attrs[k] = text(v) if clean is None else clean
            ctx = r[CONTEXT]
            if ctx:
                records[i] = (r[0], r[1], r[2], attrs, self._context(ctx))
        return records

    def _context(self, ctx: dict[str, Any]) -> dict[str, Any]:
        hit = self.contexts.get(id(ctx))
        if hit is not None and hit[0] is ctx:
            return hit[1]
        clean = {k: self.text(v) if type(v) is str else v for k, v in ctx.items()}
        self.contexts = {id(ctx): (ctx, clean)}  # contexts change rarely: keep the latest
        return clean


class Stamp:
    """Gives each record a unique `log.record.uid` (96 random bits per process + a counter),
    so the analytics side can dedup at-least-once delivery."""

    def __init__(self) -> None:
        self.prefix = os.urandom(12).hex()
        self.count = 0
        atfork.register(after_in_child=self._reseed)  # a forked child must not reuse ids

    def _reseed(self) -> None:
        self.prefix = os.urandom(12).hex()
        self.count = 0

    def __call__(self, records: list[Record]) -> list[Record]:
        n, prefix = self.count, self.prefix
        for r in records:
            n += 1
            r[ATTRS][UID] = f"{prefix}{n & 0xFFFFFFFF:08x}"
        self.count = n
        return records


def run(processors: list[Processor], records: list[Record]) -> list[Record]:
    for p in processors:
        if not records:
            break
        records = p(records)
    return records
