"""Encode records as an OTLP ExportLogsServiceRequest (protobuf), off the caller's thread."""

from __future__ import annotations

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from prodtel.resource import SDK_VERSION

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from prodtel.record import Record

_SEVERITY_TEXT = {9: "INFO", 13: "WARN", 17: "ERROR", 21: "FATAL"}


def any_value(v: object) -> AnyValue:
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    return AnyValue(string_value=str(v))


def key_values(attrs: Mapping[str, object]) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in attrs.items()]


class Encoder:
    """Holds the encoded resource and scope; `encode(records)` makes one request body."""

    def __init__(self, resource: Mapping[str, str], scope: str = "prodtel") -> None:
        self.resource = Resource(attributes=key_values(resource))
        self.scope = InstrumentationScope(name=scope, version=SDK_VERSION)

    def encode(self, records: Iterable[Record]) -> bytes:
        logs = [
            LogRecord(
                time_unix_nano=r.time_ns,
                observed_time_unix_nano=r.time_ns,
                severity_number=r.severity,  # type: ignore[arg-type]
                severity_text=_SEVERITY_TEXT.get(r.severity, ""),
                event_name=r.name,
                attributes=key_values(r.attrs),
            )
            for r in records
        ]
        req = ExportLogsServiceRequest(
            resource_logs=[
                ResourceLogs(
                    resource=self.resource,
                    scope_logs=[ScopeLogs(scope=self.scope, log_records=logs)],
                )
            ]
        )
        body: bytes = req.SerializeToString()
        return body
