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
elif sdk in ("posthog", "posthog-off"):
    from common import ATTRS, EVENT, endpoint
    from posthog import Posthog

    # posthog-off: the app persisted the user's opt-out and passes disabled=True
    ph = Posthog("phc_bench", host=endpoint(), disabled=sdk == "posthog-off")
    ph.capture(EVENT, distinct_id="bench", properties=ATTRS)
    ph.shutdown()
elif sdk in ("segment", "segment-off"):
    import segment.analytics as analytics
    from common import ATTRS, EVENT, endpoint

    analytics.write_key = "bench"
    analytics.host = endpoint()
    analytics.send = sdk == "segment"  # segment-off: the opt-out turns sending off
    analytics.track("bench", EVENT, ATTRS)
    analytics.flush()
elif sdk in ("sentry", "sentry-off"):
    import sentry_sdk
    from common import endpoint

    port = endpoint().rsplit(":", 1)[1]
    # sentry-off: no DSN, sentry-sdk's documented way to turn it off
    dsn = f"http://key@127.0.0.1:{port}/1" if sdk == "sentry" else None
    sentry_sdk.init(dsn, shutdown_timeout=2)
    sentry_sdk.capture_message("script_exported")
else:
    raise SystemExit(f"unknown sdk {sdk}")
