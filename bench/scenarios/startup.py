"""One short CLI run per SDK: import, init, (one event), exit. Timed from outside, as a whole
process. Usage: startup.py <sdk>."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
sdk = sys.argv[1]

if sdk == "bare":
    pass
elif sdk == "prodtel-import":
    import prodtel
elif sdk.startswith("prodtel"):
    from common import ATTRS, EVENT, catalog, endpoint

    import prodtel

    prodtel.init(catalog(), "1.0", endpoint=endpoint())
    if sdk == "prodtel-event":
        prodtel.track(EVENT, **ATTRS)
elif sdk == "otel":
    from common import ATTRS, EVENT, endpoint
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource

    lp = LoggerProvider(resource=Resource({"service.name": "benchapp"}))
    lp.add_log_record_processor(
        BatchLogRecordProcessor(OTLPLogExporter(endpoint=endpoint() + "/v1/logs"))
    )
    lp.get_logger("benchapp").emit(event_name=EVENT, attributes=ATTRS)
elif sdk == "posthog":
    from common import ATTRS, EVENT, endpoint
    from posthog import Posthog

    ph = Posthog("phc_bench", host=endpoint())
    ph.capture(EVENT, distinct_id="bench", properties=ATTRS)
    ph.shutdown()
elif sdk == "segment":
    import segment.analytics as analytics
    from common import ATTRS, EVENT, endpoint

    analytics.write_key = "bench"
    analytics.host = endpoint()
    analytics.track("bench", EVENT, ATTRS)
    analytics.flush()
elif sdk == "sentry":
    import sentry_sdk
    from common import endpoint

    port = endpoint().rsplit(":", 1)[1]
    sentry_sdk.init(f"http://key@127.0.0.1:{port}/1", shutdown_timeout=2)
    sentry_sdk.capture_message("script_exported")
else:
    raise SystemExit(f"unknown sdk {sdk}")
