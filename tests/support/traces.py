"""An in-process OTLP/HTTP receiver on 127.0.0.1 for both signals: it decodes what arrives at
/v1/logs and /v1/traces with the official protobuf classes and answers 404 elsewhere, as the
collector does."""

from __future__ import annotations

import http.server
import threading
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support.loopback import HOST, OTLPServer, attributes


class OTLPReceiver(OTLPServer):
    """`spans` and `records` are what arrived, decoded; `paths` every POST's path, `bodies` its
    body."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.records: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.bodies: list[bytes] = []  # every request body, decompressed
        super().__init__()

    def _answer(
        self, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict[str, str]]:
        self.paths.append(path)
        self.bodies.append(body)
        if path == "/v1/traces":
            req = ExportTraceServiceRequest.FromString(body)
            for rs in req.resource_spans:
                resource = attributes(rs.resource.attributes)
                for ss in rs.scope_spans:
                    for s in ss.spans:
                        self.spans.append(
                            {
                                "name": s.name,
                                "scope": ss.scope.name,
                                "resource": resource,
                                "attributes": attributes(s.attributes),
                                "events": [(e.name, attributes(e.attributes)) for e in s.events],
                                "links": [attributes(link.attributes) for link in s.links],
                                "status": (s.status.code, s.status.message),
                                "span": s,
                            }
                        )
            return 200, {}
        if path == "/v1/logs":
            req_logs = ExportLogsServiceRequest.FromString(body)
            for rl in req_logs.resource_logs:
                for sl in rl.scope_logs:
                    for r in sl.log_records:
                        self.records.append(
                            {"event_name": r.event_name, "attributes": attributes(r.attributes)}
                        )
            return 200, {}
        return 404, {}


class WebServer:
    """A plain HTTP server on 127.0.0.1 that answers every GET with 200 "ok": the site an
    instrumented app calls."""

    def __init__(self) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def __enter__(self) -> WebServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
