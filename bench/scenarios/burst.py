"""A burst of N events as fast as the app can make them, then wait until delivered. Prints
delivered events/s (delivered / wall time from the first event until the last was acked),
what was dropped, and peak RSS. Usage: burst.py <sdk> <n>."""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import ATTRS, EVENT, arg, catalog, endpoint

sdk, n = sys.argv[1], int(arg(2, "1000000"))


def progress(done: int) -> None:
    print(f"  ... {done:,}/{n:,} events made", file=sys.stderr, flush=True)


t0 = time.perf_counter()
if sdk == "prodtel":
    import prodtel

    t = prodtel.init(catalog(), "1.0", endpoint=endpoint())
    for i in range(n):
        prodtel.track(EVENT, **ATTRS)
        if i % 200_000 == 0:
            progress(i)
    prodtel.flush(600)
    delivered = t.stats.get("sent", 0)
    dropped = sum(v for k, v in t.stats.items() if k.startswith("dropped")) + sum(t.drops.values())
elif sdk == "otel":
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExportResult
    from opentelemetry.sdk.resources import Resource

    acked = [0]
    lock = threading.Lock()

    class Counting(OTLPLogExporter):
        def export(self, batch):  # type: ignore[no-untyped-def]
            result = super().export(batch)
            if result == LogRecordExportResult.SUCCESS:
                with lock:
                    acked[0] += len(batch)
            return result

    lp = LoggerProvider(resource=Resource({"service.name": "benchapp"}))
    lp.add_log_record_processor(BatchLogRecordProcessor(Counting(endpoint=endpoint() + "/v1/logs")))
    lg = lp.get_logger("benchapp")
    for i in range(n):
        lg.emit(event_name=EVENT, attributes=ATTRS)
        if i % 200_000 == 0:
            progress(i)
    lp.force_flush(600_000)
    delivered, dropped = acked[0], n - acked[0]
else:
    raise SystemExit(f"unknown sdk {sdk}")
wall = time.perf_counter() - t0
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(
    json.dumps(
        {
            "sdk": sdk,
            "n": n,
            "delivered": delivered,
            "dropped": dropped,
            "seconds": wall,
            "delivered_per_s": delivered / wall,
            "peak_rss_mb": rss_mb,
        }
    )
)
