"""The peers' backend for the bench: a loopback HTTP server answering 200 `{}` to every POST,
which also keeps the id of every event it is sent, so losses and duplicates can be counted for
SDKs that do not speak OTLP."""

from __future__ import annotations

import gzip
import http.server
import json
import threading


def event_ids(body: bytes, encoding: str | None) -> list[str]:
    """The ids in one request: posthog's `uuid` and segment's `messageId` per batch item, the
    `event_id` of a Sentry envelope's header line. Anything else (a Sentry session update) has
    none."""
    if encoding == "gzip":
        body = gzip.decompress(body)
    try:
        doc = json.loads(body.partition(b"\n")[0])
    except ValueError:
        return []
    if not isinstance(doc, dict):
        return []
    if isinstance(doc.get("batch"), list):
        return [str(m.get("uuid") or m.get("messageId")) for m in doc["batch"]]
    return [str(doc["event_id"])] if "event_id" in doc else []


class NullServer:
    """Answers 200 `{}` to every POST on 127.0.0.1 (`port` 0: a free one); `ids` collects the
    event ids sent."""

    def __init__(self, port: int = 0) -> None:
        self.ids: list[str] = []
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.ids += event_ids(body, self.headers.get("Content-Encoding"))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *a: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
