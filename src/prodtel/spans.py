"""The span path: what of an OpenTelemetry span may leave, and in what form.

    otel.PipelineSpanProcessor.on_end  (app thread: consent and declared name, then queued)
      -> SpanPipeline                  (worker thread: gate again, catalog, scrubber)
      -> sink.write_spans              (encoded as OTLP traces into the outbox)

A span leaves under the name its catalog `Span` declares, with only the declared attributes
(type, enum and length checked as for events), its "exception" events (type, message and stack
trace, scrubbed and cut as for the `exception` event) and its status (description scrubbed).
Links never leave (counted as `span_link` drops): the collector could not hold their free-form
attributes to the catalog, so it drops any span that carries one. Every string that leaves
passes the scrubber. Trace state never leaves. Nothing here imports the OpenTelemetry SDK: spans
are read by duck typing, so the module stays cheap.
"""

from __future__ import annotations

from prodtel.consent import levels
from prodtel.counters import count

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    from prodtel.catalog import Attr, Catalog
    from prodtel.pipeline import Consent

INFO = 9
EXCEPTION_EVENT = "exception"


class SpanData:
    """One span as it will be encoded: ids as ints, times in ns, OTLP enum values."""

    __slots__ = (
        "attrs",
        "end",
        "events",
        "flags",
        "kind",
        "links",
        "name",
        "parent_id",
        "scope",
        "span_id",
        "start",
        "status_code",
        "status_message",
        "trace_id",
    )

    def __init__(
        self,
        name: str,
        trace_id: int,
        span_id: int,
        parent_id: int = 0,
        kind: int = 1,
        start: int = 0,
        end: int = 0,
        attrs: dict[str, Any] | None = None,
        events: list[tuple[int, str, dict[str, Any]]] | None = None,
        links: list[tuple[int, int, dict[str, Any]]] | None = None,
        status_code: int = 0,
        status_message: str = "",
        scope: tuple[str, str] = ("", ""),
        flags: int = 0,
    ) -> None:
        self.name = name
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent_id = parent_id
        self.kind = kind  # OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer
        self.start = start
        self.end = end
        self.attrs = attrs or {}
        self.events = events or []
        self.links = links or []
        self.status_code = status_code  # OTLP StatusCode: 0 unset, 1 ok, 2 error
        self.status_message = status_message
        self.scope = scope
        self.flags = flags

    def __repr__(self) -> str:
        return f"SpanData({self.name!r}, {self.attrs!r})"


def _exception_attrs() -> dict[str, Attr]:
    """The attributes an "exception" span event may keep: type, message and stack trace, with
    the types and lengths of the `exception` event's."""
    from prodtel.catalog import builtin_events

    (exc,) = [e for e in builtin_events() if e.name == EXCEPTION_EVENT]
    return {k: a for k, a in exc.attrs.items() if k != "exception.handled"}


class SpanPipeline:
    """On the worker thread: consent gate (again: a disable covers queued spans), catalog
    check and conversion, scrubbing. Takes SDK ReadableSpans, returns SpanData."""

    def __init__(
        self,
        consent: Consent,
        catalog: Catalog,
        drops: dict[str, int],
        text: Callable[[str], str],
    ) -> None:
        self.consent = consent
        self.catalog = catalog
        self.drops = drops
        self.text = text  # the scrubber, cached (pipeline.Scrub.text)
        self.exception_attrs = _exception_attrs()

    def __call__(self, spans: list[Any]) -> list[SpanData]:
        allows = self.consent.current().allows_record
        out = []
        for s in spans:
            if not allows(INFO, s.end_time or 0):
                count(self.drops, "consent")
                continue
            d = self.convert(s)
            if d is not None:
                out.append(d)
        return out

    def convert(self, s: Any) -> SpanData | None:
        decl = self.catalog.span_names.get(s.name)
        if decl is None:
            count(self.drops, "unknown_span")
            return None
        text = self.text
        ctx = s.context
        parent = s.parent
        status = s.status
        scope = s.instrumentation_scope
        events = []
        for e in s.events:
            if e.name != EXCEPTION_EVENT:
                count(self.drops, "span_event")  # undeclared: free-form names and attributes
                continue
            events.append(
                (e.timestamp, text(e.name), self._attrs(self.exception_attrs, e.attributes))
            )
        if s.links:  # never sent: the collector cannot check link attributes (no OTTL
            count(self.drops, "span_link", len(s.links))  # link context) and drops such spans
        return SpanData(
            name=text(decl.name),
            trace_id=ctx.trace_id,
            span_id=ctx.span_id,
            parent_id=parent.span_id if parent is not None else 0,
            kind=s.kind.value + 1,  # the SDK counts from INTERNAL = 0, OTLP from UNSPECIFIED
            start=s.start_time or 0,
            end=s.end_time or 0,
            attrs=self._attrs(decl.attrs, s.attributes),
            events=events,
            links=[],
            status_code=status.status_code.value,
            status_message=text(status.description or ""),
            scope=(text(scope.name), text(scope.version or "")) if scope else ("", ""),
            flags=int(ctx.trace_flags) & 0xFF,
        )

    def _attrs(
        self, declared: Mapping[str, Attr], attrs: Mapping[str, object] | None
    ) -> dict[str, Any]:
        """Declared attributes only, checked like event attributes, strings scrubbed.
        Instrumentations set many attributes a catalog leaves out: dropping them is the
        design, so they are counted, never raised on (also not in strict mode)."""
        out: dict[str, Any] = {}
        for k, v in (attrs or {}).items():
            a = declared.get(k)
            if a is None:
                count(self.drops, "span_unknown_attribute")
                continue
            clean, problem = a.check(v)
            if problem is not None and problem != "truncated":
                count(self.drops, "span_invalid_attribute")
                continue
            out[k] = self.text(clean) if type(clean) is str else clean
        return out


def may_leave(consent_level: int, catalog: Catalog, name: str) -> bool:
    """The cheap check on the app's thread, at span end: usage data needs level `all`, and
    only declared span names are queued."""
    return consent_level >= levels.ALL and name in catalog.span_names
