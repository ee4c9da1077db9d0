"""A short-lived app with third-party OpenTelemetry instrumentation (httpx), the way an app
author wires it: `python span_app.py <telemetry endpoint> <url to GET> <config dir>`.

It makes one request and exits without flushing anything: prodtel's exit path must deliver
the span. The endpoint, consent and the rest come from argv and the environment."""

from __future__ import annotations

import sys

from prodtel import Attr, Catalog, Span

CATALOG = Catalog(
    "spanapp",
    [],
    spans=[
        Span(
            "http.client",
            "An HTTP request the app makes (httpx instrumentation).",
            names=["GET", "POST"],
            attrs=[
                Attr("http.request.method", str, "The method.", enum=["GET", "POST"]),
                Attr("http.response.status_code", int, "The status code."),
                Attr("url.full", str, "The URL, scrubbed.", max_length=512),
            ],
        )
    ],
)


def main(endpoint: str, url: str, config_dir: str) -> None:
    import os

    # The stable HTTP semantic conventions (url.full, http.request.method, ...).
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")
    import httpx
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    import prodtel

    prodtel.init(CATALOG, "1.0", endpoint=endpoint, config_dir=config_dir)
    HTTPXClientInstrumentor().instrument(tracer_provider=prodtel.otel.tracer_provider())
    httpx.get(url, timeout=5)


if __name__ == "__main__":
    main(*sys.argv[1:4])
