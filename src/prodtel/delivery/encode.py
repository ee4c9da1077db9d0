"""Encode records as OTLP ExportLogsServiceRequest protobuf bytes, and spans (prodtel.spans) as
ExportTraceServiceRequest bytes, off the caller's thread.

Building opentelemetry-proto message objects costs tens of microseconds per record here, more
than everything else on the path together, and importing them costs ~50 ms of start-up. So each
LogRecord is written straight to protobuf wire format, with the encodings of repeated attribute
values cached. `tests/test_encode.py` checks that the official classes parse the bytes back to
exactly what the records say, and the spans.
"""

from __future__ import annotations

import struct

from prodtel.record import UID
from prodtel.resource import SDK_VERSION

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

    from prodtel.record import Record
    from prodtel.spans import SpanData

SEVERITY_TEXT = {9: "INFO", 10: "INFO2", 13: "WARN", 17: "ERROR", 21: "FATAL"}
_fixed64 = struct.Struct("<Q").pack
_fixed32 = struct.Struct("<I").pack
_double = struct.Struct("<d").pack
_times = struct.Struct("<BQBQ").pack  # time_unix_nano=1 and observed_time_unix_nano=11
_MAX_CACHE = 8192
_MAX_SETS, _MAX_SET_BYTES = 1024, 1024  # whole attribute sets: bounded count and size


def varint(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _ld(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field."""
    return tag + varint(len(payload)) + payload


def any_value(v: object) -> bytes:
    """AnyValue wire bytes: string=1, bool=2, int=3, double=4."""
    if isinstance(v, bool):
        return b"\x10\x01" if v else b"\x10\x00"
    if isinstance(v, int):
        return b"\x18" + varint(v & 0xFFFFFFFFFFFFFFFF)
    if isinstance(v, float):
        return b"\x21" + _double(v)
    return _ld(b"\x0a", str(v).encode("utf-8", "replace"))


def _kv_inner(k: str, v: object) -> bytes:
    """KeyValue{key=1, value=2} message bytes."""
    return _ld(b"\x0a", k.encode()) + _ld(b"\x12", any_value(v))


def key_value(k: str, v: object) -> bytes:
    """LogRecord.attributes (field 6) entry."""
    return _ld(b"\x32", _kv_inner(k, v))


class Encoder:
    """Holds the encoded resource and scope; `encode(records)` makes one request body."""

    def __init__(self, resource: Mapping[str, str], scope: str = "prodtel") -> None:
        self.resource = resource
        self._resource_field: bytes | None = None
        self.scope_field = scope_field(scope, SDK_VERSION)  # ScopeLogs.scope = 1
        # Per-type caches: True == 1 would collide in one dict.
        self.strs: dict[tuple[str, str], bytes] = {}
        self.ints: dict[tuple[str, int], bytes] = {}
        self.bools: dict[tuple[str, bool], bytes] = {}
        self.double_heads: dict[str, bytes] = {}
        self.names: dict[str, bytes] = {}
        self.severities = {
            n: b"\x10" + varint(n) + _ld(b"\x1a", t.encode()) for n, t in SEVERITY_TEXT.items()
        }
        self.uid_head = key_value(UID, "0" * 32)[:-32]  # ours is always 32 ASCII characters
        self.contexts: tuple[object, bytes] = (None, b"")
        self.sizes: dict[int, bytes] = {}  # the log_records tag + length prefix, by length
        self.attr_sets: dict[object, bytes] = {}

    def _kv(self, k: str, v: object) -> bytes:
        t = type(v)
        if t is float:
            head = self.double_heads.get(k)
            if head is None:
                head = self.double_heads[k] = key_value(k, 0.0)[:-8]
            return head + _double(v)
        cache: dict[Any, bytes] = self.strs if t is str else self.ints if t is int else self.bools
        hit = cache.get((k, v))
        if hit is None:
            if len(cache) >= _MAX_CACHE:
                cache.clear()
            hit = cache[(k, v)] = key_value(k, v)
        return hit

    def _attrs(self, name: str, attrs: dict[str, Any]) -> bytes:
        """The attributes but the uid, encoded. Events repeat whole attribute sets, so those
        are cached too, keyed with the values' types (True == 1, but encodes differently)."""
        items = tuple(attrs.items())
        if items and items[-1][0] == UID:  # Stamp adds the uid last
            items = items[:-1]
        key: tuple[str, tuple[tuple[str, Any], ...], tuple[type, ...]] | None = (
            name,
            items,
            tuple(map(type, attrs.values())),
        )
        try:
            hit = self.attr_sets.get(key)
        except TypeError:  # an unhashable value: encode it each time
            key, hit = None, None
        if hit is None:
            kv = self._kv
            hit = b"".join([kv(k, v) for k, v in items if k != UID])
            if key is not None and len(hit) <= _MAX_SET_BYTES:
                if len(self.attr_sets) >= _MAX_SETS:
                    self.attr_sets.clear()
                self.attr_sets[key] = hit
        return hit

    def log_record(self, r: Record) -> bytes:
        """ScopeLogs.log_records (field 2) entry for one record."""
        t, severity, event, attrs, ctx = r  # TIME, SEVERITY, NAME, ATTRS, CONTEXT
        name = self.names.get(event)
        if name is None:
            name = self.names[event] = _ld(b"\x62", event.encode())  # event_name = 12
        sev = self.severities.get(severity) or b"\x10" + varint(severity)
        if ctx:
            if self.contexts[0] is not ctx:
                self.contexts = (ctx, b"".join(key_value(k, v) for k, v in ctx.items()))
            ctx_bytes = self.contexts[1]
        else:
            ctx_bytes = b""
        uid = attrs.get(UID)
        body = b"".join(
            (
                _times(0x09, t, 0x59, t),
                sev,
                ctx_bytes,  # time=1, observed_time=11, severity=2,3
                self._attrs(event, attrs),
                b""
                if uid is None
                else self.uid_head + uid.encode()
                if type(uid) is str and len(uid) == 32 and uid.isascii()  # 32 bytes
                else self._kv(UID, uid),
                name,
            )
        )
        size = self.sizes.get(len(body))
        if size is None:
            size = self.sizes[len(body)] = b"\x12" + varint(len(body))
        return size + body

    def encode(self, records: Iterable[Record]) -> bytes:
        """One ExportLogsServiceRequest with these records."""
        return self.wrap(b"".join(self.log_record(r) for r in records))

    @property
    def resource_field(self) -> bytes:
        """ResourceLogs.resource = 1 (Resource{attributes=1: KeyValue}). Encoded on first use,
        on the worker thread, after the Scrub stage cleaned the values the app supplied."""
        if self._resource_field is None:
            res = b"".join(_ld(b"\x0a", _kv_inner(k, v)) for k, v in self.resource.items())
            self._resource_field = _ld(b"\x0a", res)
        return self._resource_field

    def wrap(self, log_records: bytes) -> bytes:
        """One ExportLogsServiceRequest from already encoded log records."""
        scope_logs = self.scope_field + log_records
        resource_logs = self.resource_field + _ld(b"\x12", scope_logs)
        return _ld(b"\x0a", resource_logs)

    def traces(self, spans: Iterable[SpanData]) -> bytes:
        """One ExportTraceServiceRequest with these spans, one ScopeSpans per scope."""
        scopes: dict[tuple[str, str], list[bytes]] = {}
        for s in spans:
            scopes.setdefault(s.scope, []).append(span(s))
        scope_spans = b"".join(
            _ld(b"\x12", scope_field(*scope) + b"".join(encoded))  # ScopeSpans.spans = 2
            for scope, encoded in scopes.items()
        )
        return _ld(b"\x0a", self.resource_field + scope_spans)  # ResourceSpans.scope_spans = 2


def scope_field(name: str, version: str) -> bytes:
    """ScopeLogs/ScopeSpans.scope (field 1): InstrumentationScope{name=1, version=2}."""
    body = _ld(b"\x0a", name.encode("utf-8", "replace"))
    if version:
        body += _ld(b"\x12", version.encode("utf-8", "replace"))
    return _ld(b"\x0a", body)


def _attrs(tag: bytes, attrs: Mapping[str, object]) -> bytes:
    return b"".join(_ld(tag, _kv_inner(k, v)) for k, v in attrs.items())


def span(s: SpanData) -> bytes:
    """ScopeSpans.spans (field 2) entry: a Span message (opentelemetry/proto/trace/v1)."""
    parts = [
        _ld(b"\x0a", s.trace_id.to_bytes(16, "big")),  # trace_id = 1
        _ld(b"\x12", s.span_id.to_bytes(8, "big")),  # span_id = 2
    ]
    if s.parent_id:
        parts.append(_ld(b"\x22", s.parent_id.to_bytes(8, "big")))  # parent_span_id = 4
    parts += [
        _ld(b"\x2a", s.name.encode("utf-8", "replace")),  # name = 5
        b"\x30" + varint(s.kind),  # kind = 6
        b"\x39" + _fixed64(s.start),  # start_time_unix_nano = 7
        b"\x41" + _fixed64(s.end),  # end_time_unix_nano = 8
        _attrs(b"\x4a", s.attrs),  # attributes = 9
    ]
    for t, name, attrs in s.events:  # events = 11: Event{time=1, name=2, attributes=3}
        event = b"\x09" + _fixed64(t) + _ld(b"\x12", name.encode("utf-8", "replace"))
        parts.append(_ld(b"\x5a", event + _attrs(b"\x1a", attrs)))
    for trace_id, span_id, attrs in s.links:  # links = 13: Link{trace_id=1, span_id=2, attrs=4}
        link = _ld(b"\x0a", trace_id.to_bytes(16, "big")) + _ld(b"\x12", span_id.to_bytes(8, "big"))
        parts.append(_ld(b"\x6a", link + _attrs(b"\x22", attrs)))
    if s.status_code or s.status_message:  # status = 15: Status{message=2, code=3}
        status = (
            _ld(b"\x12", s.status_message.encode("utf-8", "replace")) if s.status_message else b""
        )
        parts.append(_ld(b"\x7a", status + b"\x18" + varint(s.status_code)))
    if s.flags:
        parts.append(b"\x85\x01" + _fixed32(s.flags))  # flags = 16 (fixed32)
    return _ld(b"\x12", b"".join(parts))


def decode(body: bytes, kind: str = "logs") -> list[dict[str, Any]]:
    """Parse a request with the official classes, for `telemetry pending`: the resourceLogs
    (or, for kind "traces", the resourceSpans) as JSON-like dicts."""
    from google.protobuf.json_format import MessageToDict

    if kind == "traces":
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        spans: list[dict[str, Any]] = MessageToDict(ExportTraceServiceRequest.FromString(body)).get(
            "resourceSpans", []
        )
        return spans
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
        ExportLogsServiceRequest,
    )

    req = ExportLogsServiceRequest.FromString(body)
    out: list[dict[str, Any]] = MessageToDict(req).get("resourceLogs", [])
    return out
