"""OpenTelemetry SDK integration: consent-gated providers for third-party instrumentation.

    from opentelemetry import trace
    trace.set_tracer_provider(prodtel.otel.tracer_provider())

Every span and log record emitted through these providers passes the same consent gate as
`track()`. Log records then join prodtel's own pipeline (catalog, scrubber, exporter); spans go
to the OTLP/HTTP traces endpoint with scrubbed attributes. When telemetry is off no SDK pipeline
is built: the no-op providers are returned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentelemetry.sdk._logs import LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from prodtel.consent import levels
from prodtel.counters import count

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from opentelemetry._logs import LoggerProvider
    from opentelemetry.context import Context
    from opentelemetry.trace import TracerProvider

    from prodtel.consent.resolve import Decision
    from prodtel.scrub import Scrubber
    from prodtel.telemetry import Telemetry


def _severity(rec: ReadWriteLogRecord) -> int:
    sev = rec.log_record.severity_number
    return sev.value if sev is not None else 9


class ConsentLogProcessor(LogRecordProcessor):
    """Passes a log record on only if the current consent allows its severity."""

    def __init__(self, inner: LogRecordProcessor, decision: Callable[[], Decision]) -> None:
        self.inner = inner
        self.decision = decision
        self.dropped = 0

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        if self.decision().allows(_severity(log_record)):
            self.inner.on_emit(log_record)
        else:
            self.dropped += 1

    def enabled(self, **kwargs: Any) -> bool:
        sev = kwargs.get("severity_number")
        return self.decision().allows(sev.value if sev is not None else 9)

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class ConsentSpanProcessor(SpanProcessor):
    """Spans are usage data: they pass only at level `all`."""

    def __init__(self, inner: SpanProcessor, decision: Callable[[], Decision]) -> None:
        self.inner = inner
        self.decision = decision
        self.dropped = 0

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        d = self.decision()
        if d.level >= levels.ALL and not d.local:
            self.inner.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        d = self.decision()
        if d.level >= levels.ALL and not d.local:
            self.inner.on_end(span)
        else:
            self.dropped += 1

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class BridgeLogProcessor(LogRecordProcessor):
    """Feeds SDK log records into prodtel's pipeline: catalog check, scrubber, exporter."""

    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        r = log_record.log_record
        if not r.event_name:  # only catalog events may leave; plain logs never do
            count(self.telemetry.drops, "not_an_event")
            return
        self.telemetry.track(r.event_name, dict(r.attributes or {}), _severity(log_record))

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.telemetry.flush(timeout_millis / 1000)


class ScrubbingSpanExporter(SpanExporter):
    """Rewrites string attributes of spans and span events through the scrubber."""

    def __init__(self, inner: SpanExporter, scrubber: Scrubber) -> None:
        self.inner = inner
        self.scrub = scrubber.value

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([self._clean(s) for s in spans])

    def _clean(self, s: ReadableSpan) -> ReadableSpan:
        from opentelemetry.sdk.trace import Event
        from opentelemetry.trace import Status

        attrs: Any = self._attrs(s.attributes)
        # span events carry exception stack traces (record_exception): scrub those too
        events = [Event(e.name, self._attrs(e.attributes), e.timestamp) for e in s.events]
        status = s.status
        if status.description:
            status = Status(status.status_code, str(self.scrub(status.description)))
        return ReadableSpan(
            name=s.name,
            context=s.context,
            parent=s.parent,
            resource=s.resource,
            attributes=attrs,
            events=events,
            links=s.links,
            kind=s.kind,
            status=status,
            start_time=s.start_time,
            end_time=s.end_time,
            instrumentation_scope=s.instrumentation_scope,
        )

    def _attrs(self, attrs: Any) -> Any:
        return {k: self.scrub(v) for k, v in (attrs or {}).items()}

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def logger_provider() -> LoggerProvider:
    """A LoggerProvider whose records pass the consent gate into prodtel's pipeline."""
    import prodtel

    t = prodtel.current()
    if t is None or t.worker is None:
        from opentelemetry._logs import NoOpLoggerProvider

        return NoOpLoggerProvider()
    from opentelemetry.sdk._logs import LoggerProvider as SdkLoggerProvider
    from opentelemetry.sdk.resources import Resource

    lp = SdkLoggerProvider(resource=Resource(t.resource), shutdown_on_exit=False)
    lp.add_log_record_processor(ConsentLogProcessor(BridgeLogProcessor(t), lambda: t.decision))
    return lp


def tracer_provider() -> TracerProvider:
    """A TracerProvider gated by consent, exporting scrubbed spans over OTLP/HTTP."""
    import prodtel

    t = prodtel.current()
    if t is None or t.worker is None or not t.settings.logs_url or t.decision.local:
        from opentelemetry.trace import NoOpTracerProvider

        return NoOpTracerProvider()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    url = t.settings.logs_url.removesuffix("/v1/logs") + "/v1/traces"
    exporter = ScrubbingSpanExporter(OTLPSpanExporter(endpoint=url, timeout=5), t.scrubber)
    tp = SdkTracerProvider(resource=Resource(t.resource), shutdown_on_exit=False)
    tp.add_span_processor(ConsentSpanProcessor(BatchSpanProcessor(exporter), lambda: t.decision))
    return tp


__all__ = [
    "BridgeLogProcessor",
    "ConsentLogProcessor",
    "ConsentSpanProcessor",
    "ScrubbingSpanExporter",
    "logger_provider",
    "tracer_provider",
]
