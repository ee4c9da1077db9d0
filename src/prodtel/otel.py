"""OpenTelemetry SDK integration: consent-gated providers for third-party instrumentation.

    from opentelemetry import trace
    trace.set_tracer_provider(prodtel.otel.tracer_provider())
    HTTPXClientInstrumentor().instrument()      # or any other instrumentation

Spans and log records emitted through these providers take the same road as `track()`: the
consent gate, the catalog (spans: `Catalog(spans=[Span(...)])`, undeclared ones are dropped),
the scrubber, prodtel's encoder, the outbox, the worker and its bounded exit. `prodtel.shutdown()`
(at exit) delivers ended spans; no stock OTLP exporter is involved.

Both functions return real SDK providers in every consent state: `shutdown()`, `force_flush()`
and `add_span_processor()` / `add_log_record_processor()` always work. Each provider follows the
telemetry `prodtel.init()` set up, at each span or record: while telemetry is off (or before
`init()`), spans are not recorded at all and records go nowhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentelemetry.sdk._logs import LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.sampling import Decision as Sampling
from opentelemetry.sdk.trace.sampling import Sampler, SamplingResult

from prodtel.consent import levels
from prodtel.counters import count

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from opentelemetry.context import Context
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Link, SpanKind
    from opentelemetry.trace.span import TraceState
    from opentelemetry.util.types import Attributes

    from prodtel.consent.resolve import Decision
    from prodtel.telemetry import Telemetry

WAKE_AT = 512  # queued spans that wake the worker before its interval


def _running() -> Telemetry | None:
    """The telemetry `init()` set up, if it is running (consent allowed some level)."""
    import prodtel

    t = prodtel.current()
    return t if t is not None and t.worker is not None else None


def _decision() -> Decision | None:
    t = _running()
    return t.decision if t is not None else None


def _severity(rec: ReadWriteLogRecord) -> int:
    sev = rec.log_record.severity_number
    return sev.value if sev is not None else 9


class ConsentLogProcessor(LogRecordProcessor):
    """Passes a log record on only if the current consent allows its severity (no decision:
    telemetry is off, nothing passes)."""

    def __init__(self, inner: LogRecordProcessor, decision: Callable[[], Decision | None]) -> None:
        self.inner = inner
        self.decision = decision
        self.dropped = 0

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        d = self.decision()
        if d is not None and d.allows(_severity(log_record)):
            self.inner.on_emit(log_record)
        else:
            self.dropped += 1

    def enabled(self, **kwargs: Any) -> bool:
        sev = kwargs.get("severity_number")
        d = self.decision()
        return d is not None and d.allows(sev.value if sev is not None else 9)

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class BridgeLogProcessor(LogRecordProcessor):
    """Feeds SDK log records into prodtel's pipeline: catalog check, scrubber, exporter. With
    no `telemetry`, the one `prodtel.init()` set up (if running) at each record."""

    def __init__(self, telemetry: Telemetry | None = None) -> None:
        self.telemetry = telemetry

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        t = self.telemetry or _running()
        if t is None:
            return
        r = log_record.log_record
        if not r.event_name:  # only catalog events may leave; plain logs never do
            count(t.drops, "not_an_event")
            return
        t.track(r.event_name, dict(r.attributes or {}), _severity(log_record))

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        t = self.telemetry or _running()
        return t.flush(timeout_millis / 1000) if t is not None else True


class ConsentSampler(Sampler):
    """Records spans only while usage data may leave (level `all`): otherwise spans are
    non-recording and cost the app next to nothing."""

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        t = _running()
        # `local` keeps records on this machine and uploads nothing: spans are not recorded.
        on = (
            t is not None
            and t.decision.level >= levels.ALL
            and not t.decision.local
            and bool(t.settings.catalog.spans)
        )
        if not on:
            return SamplingResult(Sampling.DROP)
        # The SDK starts the span with the attributes the sampler returns.
        return SamplingResult(Sampling.RECORD_AND_SAMPLE, attributes)

    def get_description(self) -> str:
        return "prodtel.ConsentSampler"


class PipelineSpanProcessor(SpanProcessor):
    """Ended spans whose name the catalog declares join the worker's queue (gate, catalog,
    scrubber, encoder, outbox: prodtel.spans). On the app's thread only a consent check and a
    dict lookup run; everything else happens on the worker thread."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        t = _running()
        w = t.worker if t is not None else None
        if t is None or w is None:
            return
        d = t.decision
        if d.level < levels.ALL or d.local:
            count(t.drops, "consent")
            return
        if span.name not in t.settings.catalog.span_names:
            count(t.drops, "unknown_span")
            return
        q = w.spans
        if len(q) >= t.max_queue:
            w.drain()  # a burst: the app's thread encodes into the outbox; nothing is lost
        q.append(span)
        if len(q) >= WAKE_AT:
            w.wake.set()

    def shutdown(self) -> None:
        """Nothing to stop: the spans are in prodtel's queue, and `prodtel.shutdown()` (at
        exit) delivers them within the exit budget."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        t = _running()
        return t.flush(timeout_millis / 1000) if t is not None else True


def logger_provider() -> LoggerProvider:
    """A LoggerProvider whose records pass the consent gate into prodtel's pipeline."""
    from opentelemetry.sdk._logs import LoggerProvider as SdkLoggerProvider
    from opentelemetry.sdk.resources import Resource

    # The resource that leaves is prodtel's own (prodtel.resource); this one is never sent.
    lp = SdkLoggerProvider(resource=Resource.get_empty(), shutdown_on_exit=False)
    lp.add_log_record_processor(ConsentLogProcessor(BridgeLogProcessor(), _decision))
    return lp


def tracer_provider() -> TracerProvider:
    """A TracerProvider whose spans take prodtel's road: consent, catalog, scrubber, outbox."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider

    tp = SdkTracerProvider(
        sampler=ConsentSampler(), resource=Resource.get_empty(), shutdown_on_exit=False
    )
    tp.add_span_processor(PipelineSpanProcessor())
    return tp


__all__ = [
    "BridgeLogProcessor",
    "ConsentLogProcessor",
    "ConsentSampler",
    "PipelineSpanProcessor",
    "logger_provider",
    "tracer_provider",
]
