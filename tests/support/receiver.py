"""A real OTLP/HTTP logs receiver on loopback that records what arrived (decoded with the
official protobuf classes). For consent tests that need to see every byte."""

from __future__ import annotations

import gzip
import http.server
import threading
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest


class Receiver:
    def __init__(self, require: dict[str, str] | None = None) -> None:
        """`require`: headers a request must carry, else it gets 401 (an ingest key)."""
        self.records: list[dict[str, Any]] = []
        self.requests = 0
        self.headers: list[dict[str, str]] = []  # each request's headers
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.headers.append(dict(self.headers.items()))
                if any(self.headers.get(k) != v for k, v in (require or {}).items()):
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                outer.requests += 1
                req = ExportLogsServiceRequest.FromString(body)
                for rl in req.resource_logs:
                    for sl in rl.scope_logs:
                        for r in sl.log_records:
                            attrs = {
                                kv.key: getattr(kv.value, kv.value.WhichOneof("value"))
                                for kv in r.attributes
                            }
                            outer.records.append(
                                {
                                    "event_name": r.event_name,
                                    "attributes": attrs,
                                    "time": r.time_unix_nano,
                                }
                            )
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
