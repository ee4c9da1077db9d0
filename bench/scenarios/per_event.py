"""Per-event cost, in process: N events, wall time until all are delivered, divided by N
(so background CPU counts), and the CPU time of the calling thread during the loop alone (what
the host's thread pays). Prints one JSON line. Usage: per_event.py <sdk> <n>."""

from __future__ import annotations

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import ATTRS, EVENT, arg, catalog, endpoint

sdk, n = sys.argv[1], int(arg(2, "20000"))


def bare(event: str, /, **kw: object) -> None:
    pass


if sdk == "bare-call":
    t0, c0 = time.perf_counter(), time.thread_time_ns()
    for _ in range(n):
        bare(EVENT, **ATTRS)
    c1 = time.thread_time_ns()
    done = time.perf_counter()
elif sdk in ("prodtel", "prodtel-off"):
    import prodtel

    prodtel.init(catalog(), "1.0", endpoint=endpoint())
    t0, c0 = time.perf_counter(), time.thread_time_ns()
    for _ in range(n):
        prodtel.track(EVENT, **ATTRS)
    c1 = time.thread_time_ns()
    ok = prodtel.flush(120)
    done = time.perf_counter()
    if sdk == "prodtel":
        assert ok and prodtel.status()["stats"].get("sent") == n, prodtel.status()
elif sdk == "otel":
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource

    lp = LoggerProvider(resource=Resource({"service.name": "benchapp"}))
    lp.add_log_record_processor(
        BatchLogRecordProcessor(
            OTLPLogExporter(endpoint=endpoint() + "/v1/logs"), max_queue_size=n + 1
        )
    )
    lg = lp.get_logger("benchapp")
    t0, c0 = time.perf_counter(), time.thread_time_ns()
    for _ in range(n):
        lg.emit(event_name=EVENT, attributes=ATTRS)
    c1 = time.thread_time_ns()
    lp.force_flush(120_000)
    done = time.perf_counter()
elif sdk == "posthog":
    from posthog import Posthog

    ph = Posthog("phc_bench", host=endpoint(), max_queue_size=n + 1)
    t0, c0 = time.perf_counter(), time.thread_time_ns()
    for _ in range(n):
        ph.capture(EVENT, distinct_id="bench", properties=ATTRS)
    c1 = time.thread_time_ns()
    ph.flush()
    done = time.perf_counter()
elif sdk == "segment":
    import segment.analytics as analytics

    analytics.write_key = "bench"
    analytics.host = endpoint()
    analytics.max_queue_size = n + 1
    t0, c0 = time.perf_counter(), time.thread_time_ns()
    for _ in range(n):
        analytics.track("bench", EVENT, ATTRS)
    c1 = time.thread_time_ns()
    analytics.flush()
    done = time.perf_counter()
elif sdk == "sentry-breadcrumb":
    import sentry_sdk

    port = endpoint().rsplit(":", 1)[1]
    sentry_sdk.init(f"http://key@127.0.0.1:{port}/1")
    t0, c0 = time.perf_counter(), time.thread_time_ns()
    for _ in range(n):
        sentry_sdk.add_breadcrumb(category=EVENT, data=ATTRS)
    c1 = time.thread_time_ns()
    done = time.perf_counter()
else:
    raise SystemExit(f"unknown sdk {sdk}")

print(
    json.dumps(
        {
            "sdk": sdk,
            "n": n,
            "ns_per_event": (done - t0) / n * 1e9,
            "caller_ns_per_event": (c1 - c0) / n,
        }
    )
)
