"""Init, 10 events, then end: prints the wall time when the program's own work ended, so the
parent can measure how long exit takes. Usage: exit_latency.py <sdk>."""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import ATTRS, EVENT, catalog, endpoint

sdk = sys.argv[1]
if sdk == "prodtel":
    import prodtel

    prodtel.init(catalog(), "1.0", endpoint=endpoint())
    for _ in range(10):
        prodtel.track(EVENT, **ATTRS)
elif sdk == "otel":
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource

    lp = LoggerProvider(resource=Resource({"service.name": "benchapp"}))
    lp.add_log_record_processor(
        BatchLogRecordProcessor(OTLPLogExporter(endpoint=endpoint() + "/v1/logs"))
    )
    lg = lp.get_logger("benchapp")
    for _ in range(10):
        lg.emit(event_name=EVENT, attributes=ATTRS)
elif sdk == "posthog":
    from posthog import Posthog

    ph = Posthog("phc_bench", host=endpoint())
    for _ in range(10):
        ph.capture(EVENT, distinct_id="bench", properties=ATTRS)
    import atexit

    atexit.register(ph.shutdown)  # what its docs tell apps to do
elif sdk == "segment":
    import segment.analytics as analytics

    analytics.write_key = "bench"
    analytics.host = endpoint()
    for _ in range(10):
        analytics.track("bench", EVENT, ATTRS)
elif sdk == "sentry":
    import sentry_sdk

    sentry_sdk.init(endpoint().replace("://", "://key@", 1) + "/1")
    for _ in range(10):
        sentry_sdk.capture_message(EVENT)
else:
    raise SystemExit(f"unknown sdk {sdk}")
print(f"END {time.time():.6f}", flush=True)
