"""A local log of the last events actually sent, so users can see every byte that left
(`telemetry show`). JSON lines, capped in size: the oldest half goes when it is full."""

from __future__ import annotations

import json
import os
import time

from prodtel.record import NAME, TIME, merged

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from prodtel.record import Record
    from prodtel.spans import SpanData

FILENAME = "sent.jsonl"
LOCAL_FILENAME = "local.jsonl"  # level `local`: what would have been sent, kept here instead
MAX_BYTES = 256 * 1024
KEEP_PER_BATCH = 200  # a burst keeps only its newest records


def path(state_dir: str, filename: str = FILENAME) -> str:
    return os.path.join(state_dir, filename)


def append(state_dir: str, records: list[Record]) -> None:
    """Append records that were just sent."""
    lines = [
        {"time": _iso(r[TIME]), "event": r[NAME], "attributes": merged(r)}
        for r in records[-KEEP_PER_BATCH:]
    ]
    _write(state_dir, lines)


def append_spans(state_dir: str, spans: list[SpanData]) -> None:
    """Append spans that were just sent (kind "span", shown like events)."""
    lines = [
        {"time": _iso(s.end), "event": s.name, "kind": "span", "attributes": s.attrs}
        for s in spans[-KEEP_PER_BATCH:]
    ]
    _write(state_dir, lines)


def append_requests(state_dir: str, requests: list[tuple[str, bytes]]) -> None:
    """Append the newest records (or spans) of sent requests that another process stored:
    (kind, gzip body) pairs, decoded with the official classes."""
    lines = []
    for kind, gzip_body in requests:
        try:
            lines += _decoded(kind, gzip_body)[-KEEP_PER_BATCH:]
        except Exception:  # a damaged row: log the rest
            continue
    if lines:
        _write(state_dir, lines[-KEEP_PER_BATCH:])


def _decoded(kind: str, gzip_body: bytes) -> list[dict[str, Any]]:
    import gzip

    body = gzip.decompress(gzip_body)
    if kind == "traces":
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        return [
            {
                "time": _iso(sp.end_time_unix_nano),
                "event": sp.name,
                "kind": "span",
                "attributes": _attributes(sp.attributes),
            }
            for rs in ExportTraceServiceRequest.FromString(body).resource_spans
            for ss in rs.scope_spans
            for sp in ss.spans
        ]
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
        ExportLogsServiceRequest,
    )

    return [
        {
            "time": _iso(rec.time_unix_nano),
            "event": rec.event_name,
            "attributes": _attributes(rec.attributes),
        }
        for rl in ExportLogsServiceRequest.FromString(body).resource_logs
        for sl in rl.scope_logs
        for rec in sl.log_records
    ]


def _attributes(kvs: Any) -> dict[str, Any]:
    return {kv.key: getattr(kv.value, kv.value.WhichOneof("value") or "string_value") for kv in kvs}


def append_local(state_dir: str, records: list[Record], resource: dict[str, str]) -> None:
    """Level `local`: keep records that would have been sent, with the resource they would
    have carried, in the local log instead."""
    lines = [
        {"time": _iso(r[TIME]), "event": r[NAME], "attributes": merged(r), "resource": resource}
        for r in records[-KEEP_PER_BATCH:]
    ]
    _write(state_dir, lines, LOCAL_FILENAME)


# One encoder for every line: json.dumps() with options builds a new one per call.
_dumps = json.JSONEncoder(sort_keys=True, default=str).encode
_second: tuple[int, str] = (-1, "")  # the last second formatted, reused within it


def _write(state_dir: str, entries: list[dict[str, Any]], filename: str = FILENAME) -> None:
    text = "".join([_dumps(x) + "\n" for x in entries])
    p = path(state_dir, filename)
    try:
        os.makedirs(state_dir, exist_ok=True)
        with open(p, "a", encoding="utf-8") as f:
            f.write(text)
            size = f.tell()
        if size > MAX_BYTES:
            with open(p, encoding="utf-8") as f:
                keep = f.readlines()
            keep = keep[len(keep) // 2 :]
            tmp = f"{p}.{os.getpid()}.tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                f.writelines(keep)
            os.replace(tmp, p)
    except OSError:
        pass  # an unwritable state dir must never break sending


def read(state_dir: str, n: int = 20, filename: str = FILENAME) -> list[dict[str, Any]]:
    try:
        with open(path(state_dir, filename), encoding="utf-8") as f:
            lines = f.readlines()[-n:]
    except OSError:
        return []
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def _iso(ns: int) -> str:
    global _second
    sec, rest = divmod(ns, 10**9)
    if _second[0] != sec:
        _second = (sec, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)))
    return f"{_second[1]}.{rest // 10**6:03d}Z"
