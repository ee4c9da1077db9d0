"""The sinks behind the worker: where drained records go. `Sink` is the whole contract the
Worker drives: `write` and `send`, and hooks with no-op defaults that only the outbox sink
(delivery/outbox_sink.py) needs; the debug and no-endpoint sinks are here.
"""

from __future__ import annotations

import abc
import sys

from prodtel.counters import count
from prodtel.record import NAME, merged

TYPE_CHECKING = False
if TYPE_CHECKING:
    from prodtel.delivery.exitplan import Handoff
    from prodtel.delivery.outbox import Outbox
    from prodtel.record import Record
    from prodtel.spans import SpanData


# A stored request holds up to 4096 records or 1 MiB; a POST joins stored requests up to 16384
# records or 3 MiB uncompressed, under the collector's 4 MiB request limit.
MAX_BATCH, MAX_BATCH_BYTES = 4096, 1 << 20
MAX_POST, MAX_POST_BYTES = 16384, 3 << 20
MAX_SPANS = 1024  # spans per stored request (they are larger than usage records)


class Sink(abc.ABC):
    """What the Worker drives. `write` and `send` are required; every other hook has a no-op
    default, so the Worker calls them all without probing."""

    outbox: Outbox | None = None  # its lock is held across fork() (see Worker)
    exiting = False  # set by the Worker at exit: the last send follows the exit plan

    @abc.abstractmethod
    def write(self, records: list[Record]) -> None:
        """Take one drained, processed batch. CPU and local disk only, no network."""

    @abc.abstractmethod
    def send(self, deadline: float | None, wait: bool = True) -> bool:
        """Deliver what was written, until `deadline` (None: the thread's own pace, with
        backoff); True when nothing is left. `wait=False`: give up if another thread sends."""

    def write_spans(self, spans: list[SpanData]) -> None:  # noqa: B027 (an optional hook)
        """Take one drained batch of spans (prodtel.spans), checked and scrubbed. CPU and
        local disk only, no network. Default: sent nowhere."""

    def warm(self) -> None:  # noqa: B027 (an optional hook)
        """On the worker thread, before the first drain: prepare what the exit path needs."""

    def retry_now(self) -> None:  # noqa: B027 (an optional hook)
        """An explicit flush: forget any backoff."""

    def persist_counters(self) -> None:  # noqa: B027 (an optional hook)
        """At exit: store counters no write carried yet."""

    def hand_over(self) -> None:  # noqa: B027 (an optional hook)
        """At exit: make rows this process was holding back available to others now."""

    def waiting_for_name(self) -> bool:
        """True while nothing can be sent because the host name has no answer yet."""
        return False

    def take_handoff(self) -> Handoff | None:
        """At exit, after the last send: a request whose answer is late, for the uploader."""
        return None

    def pending(self) -> int:
        """Records written but not yet delivered."""
        return 0

    def problems(self) -> list[str]:
        """What keeps delivery from working as designed, for `status`."""
        return []

    def purge(self) -> int:
        """Drop every undelivered record; how many were dropped."""
        return 0

    def after_fork(self) -> None:  # noqa: B027 (an optional hook)
        """In a forked child: drop the parent's connections and locks."""

    def close(self) -> None:  # noqa: B027 (an optional hook)
        """After a complete last send: release connections and files."""


override: Sink | None = None  # set by prodtel.testing.capture(): replaces every sink


class DebugSink(Sink):
    """PRODTEL_DEBUG=1: print each record as it would be sent, on stderr; send nothing."""

    def __init__(self, resource: dict[str, str]) -> None:
        self.resource = resource
        self.printed_resource = False

    def write(self, records: list[Record]) -> None:
        import json

        if not self.printed_resource:
            print(f"[prodtel] resource {json.dumps(self.resource)}", file=sys.stderr)
            self.printed_resource = True
        for r in records:
            print(f"[prodtel] {r[NAME]} {json.dumps(merged(r), sort_keys=True)}", file=sys.stderr)

    def write_spans(self, spans: list[SpanData]) -> None:
        import json

        for s in spans:
            print(f"[prodtel] span {s.name} {json.dumps(s.attrs, sort_keys=True)}", file=sys.stderr)

    def send(self, deadline: float | None, wait: bool = True) -> bool:
        return True


class NoEndpoint(Sink):
    """No endpoint configured: records are counted, never sent."""

    def __init__(self, stats: dict[str, int]) -> None:
        self.stats = stats

    def write(self, records: list[Record]) -> None:
        count(self.stats, "no_endpoint", len(records))

    def write_spans(self, spans: list[SpanData]) -> None:
        count(self.stats, "no_endpoint", len(spans))

    def send(self, deadline: float | None, wait: bool = True) -> bool:
        return True
