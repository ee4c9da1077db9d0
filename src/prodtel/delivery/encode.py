"""Encode records as OTLP ExportLogsServiceRequest protobuf bytes, off the caller's thread.

Building opentelemetry-proto message objects costs tens of microseconds per record here, more
than everything else on the path together, and importing them costs ~50 ms of start-up. So each
LogRecord is written straight to protobuf wire format, with the encodings of repeated attribute
values cached. `tests/test_encode.py` checks that the official classes parse the bytes back to
exactly what the records say.
"""

from __future__ import annotations

import struct

from prodtel.record import ATTRS, CONTEXT, NAME, SEVERITY, TIME, UID
from prodtel.resource import SDK_VERSION

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

    from prodtel.record import Record

SEVERITY_TEXT = {9: "INFO", 10: "INFO2", 13: "WARN", 17: "ERROR", 21: "FATAL"}
_fixed64 = struct.Struct("<Q").pack
_double = struct.Struct("<d").pack
_MAX_CACHE = 8192


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
        # InstrumentationScope{name=1, version=2}
        scp = _ld(b"\x0a", scope.encode()) + _ld(b"\x12", SDK_VERSION.encode())
        self.resource = resource
        self._resource_field: bytes | None = None
        self.scope_field = _ld(b"\x0a", scp)  # ScopeLogs.scope = 1
        # Per-type caches: True == 1 would collide in one dict.
        self.strs: dict[tuple[str, str], bytes] = {}
        self.ints: dict[tuple[str, int], bytes] = {}
        self.bools: dict[tuple[str, bool], bytes] = {}
        self.double_heads: dict[str, bytes] = {}
        self.names: dict[str, bytes] = {}
        self.severities = {
            n: b"\x10" + varint(n) + _ld(b"\x1a", t.encode()) for n, t in SEVERITY_TEXT.items()
        }
        self.uid_head = key_value(UID, "0" * 32)[:-32]  # the uid is always 32 characters
        self.contexts: tuple[object, bytes] = (None, b"")

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

    def log_record(self, r: Record) -> bytes:
        """ScopeLogs.log_records (field 2) entry for one record."""
        name = self.names.get(r[NAME])
        if name is None:
            name = self.names[r[NAME]] = _ld(b"\x62", r[NAME].encode())  # event_name = 12
        t = _fixed64(r[TIME])
        sev = self.severities.get(r[SEVERITY]) or b"\x10" + varint(r[SEVERITY])
        ctx = r[CONTEXT]
        if ctx:
            if self.contexts[0] is not ctx:
                self.contexts = (ctx, b"".join(key_value(k, v) for k, v in ctx.items()))
            ctx_bytes = self.contexts[1]
        else:
            ctx_bytes = b""
        attrs = r[ATTRS]
        uid = attrs.get(UID)
        kv = self._kv
        body = b"".join(
            (
                b"\x09",
                t,
                b"\x59",
                t,
                sev,
                ctx_bytes,  # time=1, observed_time=11, severity=2,3
                *[kv(k, v) for k, v in attrs.items() if k != UID],
                b""
                if uid is None
                else self.uid_head + uid.encode()
                if type(uid) is str and len(uid) == 32
                else kv(UID, uid),
                name,
            )
        )
        return b"\x12" + varint(len(body)) + body

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


def decode(body: bytes) -> list[dict[str, Any]]:
    """Parse a request with the official classes, for `telemetry pending`."""
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
        ExportLogsServiceRequest,
    )

    req = ExportLogsServiceRequest.FromString(body)
    out: list[dict[str, Any]] = MessageToDict(req).get("resourceLogs", [])
    return out
