"""ClickHouse's HTTP interface served from chDB on loopback, for tests.

Enough of it for clickhouse-connect (prodtel analytics report --clickhouse) and for the
collector's clickhouse exporter (clickhouse-go over HTTP): queries in the `query` parameter or the
body, `param_*` values, `FORMAT x` at the end, and INSERTs whose rows ride in the body
(`INSERT INTO t (cols) FORMAT Native` + a Native block), which chDB runs as
`INSERT INTO t (cols) SELECT * FROM file(<body>, Native)`.

    python tests/support/chdb_http.py DB_DIR QUERY_LOG   # prints the port, serves until killed
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import struct
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*$", re.I)
_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+(.+?)\s+FORMAT\s+(\w+)\s*;?\s*$", re.I | re.S)


_INTS = {f"{s}Int{b}": (b // 8, s == "") for s in ("", "U") for b in (8, 16, 32, 64)}


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(v: str) -> bytes:
    b = v.encode()
    return _uvarint(len(b)) + b


def native_block(meta: list[dict[str, str]], rows: list[list[Any]], revision: int) -> bytes:
    """One Native block as a ClickHouse server sends it to a client of `revision` (block info,
    then per column its name, type, custom-serialization flag and values). Integers, floats and
    strings are kept; every other type travels as String (enough for metadata queries)."""
    out = bytearray()
    if revision > 0:
        out += _uvarint(1) + b"\x00" + _uvarint(2) + struct.pack("<i", -1) + _uvarint(0)
    out += _uvarint(len(meta)) + _uvarint(len(rows))
    for i, col in enumerate(meta):
        kind = col["type"]
        if kind in _INTS:
            size, signed = _INTS[kind]
            data = b"".join(int(r[i]).to_bytes(size, "little", signed=signed) for r in rows)
        elif kind in ("Float32", "Float64"):
            data = b"".join(struct.pack("<f" if kind == "Float32" else "<d", r[i]) for r in rows)
        else:
            kind = "String"
            data = b"".join(
                _str(v if isinstance(v, str) else json.dumps(v)) for v in (r[i] for r in rows)
            )
        out += _str(col["name"]) + _str(kind)
        if revision >= 54454:
            out += b"\x00"
        out += data
    return bytes(out)


def serve(db: str, query_log: str) -> None:
    from chdb.session import Session

    session, lock = Session(db), threading.Lock()
    seen = open(query_log, "a")  # noqa: SIM115 (open for the server's life)
    spool = Path(tempfile.mkdtemp(prefix="chdb-http-"))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def handle_query(self, body: bytes) -> None:
            qs = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(self.path).query))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            params = {k[6:]: v for k, v in qs.items() if k.startswith("param_")}
            url_sql = qs.pop("query", "")
            insert = _INSERT.match(url_sql) if url_sql else None
            fmt = qs.get("default_format", "TabSeparated")
            if insert:
                # The rows are the body: spool them to a file chDB reads.
                target, data_fmt = insert.group(1), insert.group(2)
                with tempfile.NamedTemporaryFile(dir=spool, delete=False) as f:
                    f.write(body)
                sql = f"INSERT INTO {target} SELECT * FROM file('{f.name}', {data_fmt})"
                entry: dict[str, Any] = {"sql": url_sql, "rows_bytes": len(body)}
            else:
                sql = "\n".join(x for x in (url_sql, body.decode()) if x)
                m = _FORMAT.search(sql)
                if m:
                    fmt, sql = m.group(1), sql[: m.start()]
                entry = {"sql": sql, "params": params, "format": fmt, "qs": qs}
            revision = int(qs.get("client_protocol_version", 0))
            try:
                with lock:
                    if fmt == "Native" and revision >= 54454 and not insert:
                        # chDB writes Native as for revision 0. clickhouse-go (the exporter)
                        # asks for 54460 and reads block info and serialization flags; its
                        # queries are metadata (server hello, DESC TABLE), so a re-encode of
                        # the JSON answer does. clickhouse-connect asks for 54405 and reads
                        # chDB's own bytes.
                        res = json.loads(
                            session.query(sql, "JSONCompact", params=params or None).bytes()
                        )
                        data = native_block(res["meta"], res["data"], revision)
                    else:
                        data = session.query(sql, fmt, params=params or None).bytes()
                code = 200
                headers = {"X-ClickHouse-Format": fmt, "X-ClickHouse-Timezone": "UTC"}
            except Exception as e:
                data, code, headers = str(e).encode(), 500, {"X-ClickHouse-Exception-Code": "1"}
                entry["error"] = str(e)[:500]
            finally:
                if insert:
                    Path(f.name).unlink(missing_ok=True)
            seen.write(json.dumps(entry) + "\n")
            seen.flush()
            self.send_response(code)
            for k, v in {**headers, "Content-Length": str(len(data))}.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if urllib.parse.urlparse(self.path).path == "/ping":
                self.send_response(200)
                self.send_header("Content-Length", "4")
                self.end_headers()
                self.wfile.write(b"Ok.\n")
                return
            self.handle_query(b"")

        def do_POST(self) -> None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                body = b""
                while True:
                    size = int(self.rfile.readline().strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        break
                    body += self.rfile.read(size)
                    self.rfile.readline()
            else:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.handle_query(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


@contextmanager
def chdb_http(db: Path, query_log: Path) -> Iterator[int]:
    """Serve `db` (a chDB folder) over ClickHouse's HTTP interface; yields the port. The folder
    is held by the server process until the block ends."""
    p = subprocess.Popen(
        [sys.executable, __file__, str(db), str(query_log)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert p.stdout is not None
        yield int(p.stdout.readline())
    finally:
        p.terminate()
        p.wait(10)


_EXEC = """
import json, sys
from chdb.session import Session
s = Session(sys.argv[1])
out = [str(s.query(q, "CSV")).strip() for q in json.loads(sys.argv[2])]
s.close()
print(json.dumps(out))
"""


def chdb_exec(db: Path, *sql: str) -> list[str]:
    """Run statements on the chDB folder `db` in a child process (chDB holds one session folder
    per process, and the test process never loads it); returns each answer as CSV text."""
    proc = subprocess.run(
        [sys.executable, "-c", _EXEC, str(db), json.dumps(sql)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    out: list[str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def assert_retention(db: Path, days: int, today: dt.date) -> None:
    """The ingested table carries a TTL of `days`, and after a merge no row is older."""
    engine, _, oldest, count = chdb_exec(
        db,
        "SELECT engine_full FROM system.tables WHERE name = 'otel_logs'",
        "OPTIMIZE TABLE otel_logs FINAL",
        "SELECT toDate(min(Timestamp)) FROM otel_logs",
        "SELECT count() FROM otel_logs",
    )
    assert f"TTL toDateTime(Timestamp) + toIntervalDay({days})" in engine, engine
    assert dt.date.fromisoformat(oldest.strip('"')) >= today - dt.timedelta(days=days), oldest
    assert int(count) > 0


def queries(query_log: Path) -> list[dict[str, Any]]:
    if not query_log.exists():
        return []
    return [json.loads(x) for x in query_log.read_text().splitlines()]


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
