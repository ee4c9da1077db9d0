"""The generated loadgen pipeline on the real collector: real OTLP in (prodtel's own encoder, the
SDK's wire format), the file exporters' output read back.

One collector serves the module; each test posts under its own `session.id` and reads back only
its records. Records that must vanish ride in the same request as one that must arrive, so once
the latter is written the former has been through the pipeline too.
"""

from __future__ import annotations

import gzip
import http.client
import os
import select
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from prodtel import Attr, Catalog, Event
from prodtel.catalog import Catalog as CatalogT
from prodtel.catalog_loader import load_catalog
from prodtel.collector_config import generate
from prodtel.delivery.encode import Encoder
from tests.support.app import clean_env, loadgen, seen_notice
from tests.support.collector import ROOT, Collector, pipeline
from tests.support.loopback import wait_http

pytestmark = pytest.mark.e2e

CATALOG = load_catalog(f"{ROOT}/examples/loadgen/telemetry_catalog.py:CATALOG")
DOCUMENTED = {
    "service.name": "loadgen",
    "service.version": "0.3.0",
    "os.type": "linux",
    "os.version": "6.1.0-13-amd64",
    "host.arch": "amd64",
    "process.runtime.name": "cpython",
    "process.runtime.version": "3.11.7",
    "app.installation.id": "6f1c2f9e-8a51-4d43-9a37-0f3f1d2b9c10",
    "telemetry.sdk.name": "prodtel",
    "telemetry.sdk.language": "python",
    "telemetry.sdk.version": "0.1.0",
    "deployment.environment.name": "production",
}
Rec = tuple[int, int, str, dict[str, Any], dict[str, Any]]


def start(workdir: Path, catalog: CatalogT = CATALOG, **env: str) -> Collector:
    """The generated pipeline for `catalog` on loopback ports, output under workdir/data."""
    return pipeline(workdir, generate(catalog), workdir / "data", **env).start()


@pytest.fixture(scope="module")
def col(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    c = start(tmp_path_factory.mktemp("pipeline"))
    yield c
    c.stop()


class Session:
    """One app session: posts records under its own session.id and reads back its own output."""

    def __init__(self, col: Collector, **resource: str) -> None:
        self.col = col
        self.id = str(uuid.uuid4())
        self.resource = {**DOCUMENTED, "session.id": self.id, **resource}

    def post(self, records: list[Rec], gzipped: bool = True) -> int:
        body = Encoder(self.resource).encode(records)
        return post(self.col, body, gzipped=gzipped)

    def output(self, stem: str) -> list[dict[str, Any]]:
        path = self.col.workdir / "data" / f"{stem}.jsonl"
        return [r for r in self.col.log_records(path) if r["resource"].get("session.id") == self.id]

    def wait(self, stem: str, n: int = 1, timeout: float = 15.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            recs = self.output(stem)
            if len(recs) >= n:
                return recs
            time.sleep(0.05)
        raise TimeoutError(f"expected {n} records in {stem}, got {len(self.output(stem))}")


def post(
    col: Collector,
    body: bytes,
    ctype: str = "application/x-protobuf",
    gzipped: bool = False,
    path: str = "/v1/logs",
) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", col.http_port, timeout=30)
    headers = {"Content-Type": ctype}
    if gzipped:
        body = gzip.compress(body, 1)
        headers["Content-Encoding"] = "gzip"
    try:
        conn.request("POST", path, body, headers)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def rec(name: str, attrs: dict[str, Any], ctx: dict[str, Any] | None = None, sev: int = 9) -> Rec:
    return (time.time_ns(), sev, name, {**attrs, "log.record.uid": uuid.uuid4().hex}, ctx or {})


USAGE = {"vus_max": 5, "iterations": 20, "duration": 1.0, "st_duration": 1.0}


def test_unknown_events_are_dropped(col: Collector) -> None:
    s = Session(col)
    status = s.post(
        [
            rec("not_in_catalog", {"vus_max": 1}),
            rec("usage_report", USAGE),
            rec("Usage_Report", USAGE),  # names are exact
            rec("", {}),
        ]
    )
    assert status == 200
    recs = s.wait("analytics")
    assert [r["event_name"] for r in recs] == ["usage_report"]
    assert s.output("errors") == []


def test_undeclared_and_address_attributes_are_removed(col: Collector) -> None:
    s = Session(col)
    s.post(
        [
            rec(
                "usage_report",
                {
                    **USAGE,
                    "executor": "constant-vus",
                    "extra": "not declared",
                    "client.address": "203.0.113.7",
                    "network.peer.address": "203.0.113.7",
                    "client.port": 51234,
                    "user.name": "alice",
                    "duration_ms": 5.0,  # declared, but on another event
                },
                {"is_ci": True},
            ),
            rec("command", {"command": "run", "outcome": "ok", "vus_max": 3}),
        ]
    )
    usage, cmd = sorted(s.wait("analytics", 2), key=lambda r: r["event_name"], reverse=True)
    assert set(usage["attributes"]) == {*USAGE, "executor", "is_ci", "log.record.uid"}
    assert usage["attributes"]["executor"] == "constant-vus"
    assert usage["attributes"]["is_ci"] is True
    assert set(cmd["attributes"]) == {"command", "outcome", "log.record.uid"}
    raw = (col.workdir / "data/analytics.jsonl").read_text()
    assert "203.0.113.7" not in raw


def test_resource_keeps_only_documented_keys(col: Collector) -> None:
    s = Session(
        col,
        **{
            "host.name": "alice-laptop",
            "user.name": "alice",
            "process.command_line": "loadgen run --token=abc",
            "process.executable.path": "/home/alice/.venv/bin/python",
            "service.instance.id": "x",
        },
    )
    s.post([rec("usage_report", USAGE)])
    (r,) = s.wait("analytics")
    assert r["resource"] == {**DOCUMENTED, "session.id": s.id}


def test_wrong_types_and_enum_values_are_removed(col: Collector) -> None:
    s = Session(col)
    s.post(
        [
            rec(
                "usage_report",
                {"vus_max": "ten", "iterations": 2.5, "duration": 3, "executor": "warp-speed"},
                {"is_ci": "yes"},
            ),
            rec("command", {"command": 42, "outcome": "maybe", "duration_ms": 7.5}),
        ]
    )
    usage, cmd = sorted(s.wait("analytics", 2), key=lambda r: r["event_name"], reverse=True)
    assert set(usage["attributes"]) == {"log.record.uid"}
    assert cmd["attributes"]["duration_ms"] == 7.5
    assert set(cmd["attributes"]) == {"duration_ms", "log.record.uid"}


def test_record_uid_must_be_32_hex(col: Collector) -> None:
    s = Session(col)
    good = uuid.uuid4().hex
    t = time.time_ns()
    s.post(
        [
            (t, 9, "usage_report", {**USAGE, "log.record.uid": good}, {}),
            (
                t,
                9,
                "usage_report",
                {**USAGE, "log.record.uid": "bob@example.com-padding-to-32ch"},
                {},
            ),
            (t, 9, "usage_report", {**USAGE, "log.record.uid": 12345}, {}),
        ]
    )
    recs = s.wait("analytics", 3)
    assert sorted(str(r["attributes"].get("log.record.uid")) for r in recs) == sorted(
        [good, "None", "None"]
    )


def test_long_strings_are_cut_to_max_length_characters(col: Collector) -> None:
    s = Session(col)
    s.post(
        [
            rec("command", {"command": "a" * 10_000, "error_type": "é" * 300, "outcome": "error"}),
            rec("command", {"command": "é" * 256, "error_type": "b" * 256, "outcome": "ok"}),
            rec(
                "exception",
                {
                    "exception.type": "ValueError",
                    "exception.message": "m" * 5000,
                    "exception.stacktrace": "Traceback\n" + "x" * 40_000,
                    "exception.handled": True,
                },
            ),
        ]
    )
    cut, kept = sorted(s.wait("analytics", 2), key=lambda r: r["attributes"]["outcome"])
    assert cut["attributes"]["command"] == "a" * 256  # Attr default max_length
    assert cut["attributes"]["error_type"] == "é" * 256  # characters, not bytes
    assert kept["attributes"]["command"] == "é" * 256  # at the limit: untouched
    assert kept["attributes"]["error_type"] == "b" * 256
    (exc,) = s.wait("errors")
    assert exc["attributes"]["exception.message"] == "m" * 2048
    assert exc["attributes"]["exception.stacktrace"] == ("Traceback\n" + "x" * 40_000)[:32768]


def test_emails_ips_and_tokens_are_masked(col: Collector) -> None:
    s = Session(col)
    s.post(
        [
            rec(
                "command",
                {
                    "command": "sync",
                    "error_type": "failed for bob@example.com from 10.1.2.3 via fe80::1ff:fe23",
                    "outcome": "error",
                },
            ),
            rec(
                "exception",
                {
                    "exception.type": "PermissionError",
                    "exception.message": "GET https://alice:hunter2@api.example.com/x with "
                    "Authorization: Bearer abcdefghijklmnopqrstuvwxyz and password=s3cret; "
                    "key ghp_0123456789abcdefghijABCDEFGHIJ012345 at 2001:db8:0:0:0:0:2:1",
                    "exception.handled": True,
                },
            ),
        ]
    )
    (cmd,) = s.wait("analytics")
    assert cmd["attributes"]["error_type"] == "failed for **** from **** via ****"
    assert cmd["attributes"]["command"] == "sync"
    (exc,) = s.wait("errors")
    msg = exc["attributes"]["exception.message"]
    for secret in ("alice", "hunter2", "abcdefghijklmnop", "s3cret", "ghp_", "2001:db8"):
        assert secret not in msg
    assert msg.startswith("GET ****api.example.com/x with Authorization: ****")
    # Versions and ids are not personal data: untouched.
    assert exc["resource"]["os.version"] == "6.1.0-13-amd64"
    assert exc["resource"]["app.installation.id"] == DOCUMENTED["app.installation.id"]


def test_exceptions_go_to_errors_and_nowhere_else(col: Collector) -> None:
    s = Session(col)
    crash = {
        "exception.type": "RuntimeError",
        "exception.message": "boom",
        "exception.stacktrace": 'Traceback (most recent call last):\n  File "x.py"\nRuntimeError',
        "exception.handled": False,
    }
    s.post([rec("usage_report", USAGE), rec("exception", crash, {"is_ci": False}, sev=21)])
    (exc,) = s.wait("errors")
    assert exc["event_name"] == "exception"
    assert exc["attributes"] == {
        **crash,
        "is_ci": False,
        "log.record.uid": exc["attributes"]["log.record.uid"],
    }
    assert exc["record"]["severityNumber"] == 21  # FATAL: a crash
    assert [r["event_name"] for r in s.wait("analytics")] == ["usage_report"]


def test_other_apps_are_dropped(col: Collector) -> None:
    other = Session(col, **{"service.name": "someone-else"})
    nameless = Session(col)
    del nameless.resource["service.name"]
    assert other.post([rec("usage_report", USAGE)]) == 200
    assert nameless.post([rec("usage_report", USAGE)]) == 200
    marker = Session(col)
    marker.post([rec("usage_report", USAGE)])
    marker.wait("analytics")
    time.sleep(0.3)  # the batch processor: the earlier requests were in the same or an earlier one
    assert other.output("analytics") == [] and nameless.output("analytics") == []


def test_bodies_scope_attributes_and_severity_text_are_cut(col: Collector) -> None:
    sid = str(uuid.uuid4())
    res = Resource(
        attributes=[
            KeyValue(key=k, value=AnyValue(string_value=v))
            for k, v in {**DOCUMENTED, "session.id": sid}.items()
        ]
    )
    lr = LogRecord(
        time_unix_nano=time.time_ns(),
        severity_number=9,
        severity_text="I" * 100,
        event_name="usage_report",
        body=AnyValue(string_value="free text body: bob@example.com"),
        attributes=[KeyValue(key="vus_max", value=AnyValue(int_value=3))],
    )
    scope = ScopeLogs(log_records=[lr])
    scope.scope.name = "s" * 500
    scope.scope.attributes.append(KeyValue(key="k", value=AnyValue(string_value="v")))
    req = ExportLogsServiceRequest(resource_logs=[ResourceLogs(resource=res, scope_logs=[scope])])
    assert post(col, req.SerializeToString()) == 200
    s = Session(col)
    s.id = sid
    (r,) = s.wait("analytics")
    assert r["record"].get("body", {}).get("stringValue", "") == ""
    assert r["record"]["severityText"] == "I" * 16
    assert r["attributes"] == {"vus_max": 3}
    raw = (col.workdir / "data/analytics.jsonl").read_text()
    assert "free text body" not in raw
    line = next(x for x in col.lines(col.workdir / "data/analytics.jsonl") if sid in str(x))
    sl = line["resourceLogs"][0]["scopeLogs"][0]
    assert sl["scope"]["name"] == "s" * 128
    assert "attributes" not in sl["scope"]


def _post_large(port: int, size: int) -> bytes:
    """POST `size` bytes, reading the answer as soon as the server gives one (it may answer and
    close before the body is fully sent)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = (
        "POST /v1/logs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
        f"Content-Length: {size}\r\n\r\n"
    )
    s.sendall(head.encode())
    chunk, sent = b"\x0a" * 65536, 0
    try:
        while sent < size:
            readable, writable, _ = select.select([s], [s], [], 30)
            if readable:
                break
            if writable:
                sent += s.send(chunk[: size - sent])
        data = b""
        while b"\r\n\r\n" not in data:
            got = s.recv(65536)
            if not got:
                break
            data += got
    finally:
        s.close()
    return data


def test_malformed_requests_get_4xx_and_the_collector_keeps_serving(col: Collector) -> None:
    assert post(col, b"\xff\xfe not protobuf \x00" * 10) == 400
    assert post(col, b"{not json", ctype="application/json") == 400
    assert post(col, b"hello", ctype="text/plain") == 415
    bad_gzip = http.client.HTTPConnection("127.0.0.1", col.http_port, timeout=30)
    bad_gzip.request(
        "POST",
        "/v1/logs",
        b"not gzip at all",
        {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
    )
    assert bad_gzip.getresponse().status == 400
    bad_gzip.close()
    # Over the 4 MiB cap: raw, and as a small gzip that inflates to 20 MiB.
    head = _post_large(col.http_port, 20 << 20)
    assert head.startswith(b"HTTP/1.1 4"), head[:100]
    assert post(col, b"\x0a" * (20 << 20), gzipped=True) == 400
    # Logs and traces (held to the catalog's spans: test_spans_e2e.py) are accepted; no metrics.
    assert post(col, b"", path="/v1/traces") == 200
    assert post(col, b"", path="/v1/metrics") == 404
    # Still serving.
    wait_http(f"http://127.0.0.1:{col.health_port}/", timeout=5)
    s = Session(col)
    assert s.post([rec("usage_report", USAGE)]) == 200
    assert len(s.wait("analytics")) == 1
    assert col.proc is not None and col.proc.poll() is None


def test_the_real_app_passes_untouched(col: Collector, tmp_path: Path) -> None:
    """loadgen itself, crash included: everything the SDK sends survives the pipeline."""
    home = tmp_path / "home"
    home.mkdir()
    seen_notice(home)
    env = clean_env(home, LOADGEN_TELEMETRY_ENDPOINT=col.endpoint)
    r = loadgen("run", "--vus", "2", "--iterations", "4", "--duration", "1s", "--fail", env=env)
    assert r.returncode != 0
    stored = (home / ".config/loadgen/telemetry.json").read_text()
    install = stored.split('"installation_id": "')[1].split('"')[0]
    mine = Session(col)

    def by_install(stem: str) -> list[dict[str, Any]]:
        path = col.workdir / "data" / f"{stem}.jsonl"
        return [
            x for x in col.log_records(path) if x["resource"].get("app.installation.id") == install
        ]

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not (by_install("analytics") and by_install("errors")):
        time.sleep(0.1)
    analytics, errors = by_install("analytics"), by_install("errors")
    names = sorted(x["event_name"] for x in analytics)
    assert names == ["command", "usage_report"], names
    report = next(x for x in analytics if x["event_name"] == "usage_report")
    assert set(report["attributes"]) == {
        "vus_max",
        "iterations",
        "duration",
        "st_duration",
        "executor",
        "is_ci",
        "log.record.uid",
    }
    cmd = next(x for x in analytics if x["event_name"] == "command")
    assert cmd["attributes"]["outcome"] == "error"
    assert cmd["attributes"]["error_type"] == "RuntimeError"
    (crash,) = errors
    assert crash["event_name"] == "exception"
    assert crash["attributes"]["exception.type"] == "RuntimeError"
    assert crash["attributes"]["exception.handled"] is False
    assert "explode" in crash["attributes"]["exception.stacktrace"]
    assert set(report["resource"]) == set(crash["resource"]) >= {"service.name", "session.id"}
    assert mine.output("analytics") == []


ODD = ["it's", 'say "hi"', "a: b", "#x", "true", "1.5", "x,y", "[z]", "back\\slash", "é"]
ODD += ["${env:HOME}", "$$", "*"]


def test_catalog_values_survive_yaml_and_ottl_quoting(tmp_path: Path) -> None:
    cat = Catalog(
        "odd-app",
        [
            Event("e.v1", "x", attrs=[Attr("v", str, "x", enum=ODD), Attr("n", int, "x")]),
            Event("other", "x", attrs=[Attr("w", str, "x", max_length=3)]),
        ],
        context=[Attr("ctx.flag", bool, "x")],
    )
    c = start(tmp_path / "odd", cat)
    try:
        s = Session(c, **{"service.name": "odd-app"})
        recs = [rec("e.v1", {"v": v, "n": i}, {"ctx.flag": True}) for i, v in enumerate(ODD)]
        # What `${env:HOME}` and `$$` would become if the config expanded them: not members.
        home = os.environ.get("HOME", "/root")
        recs += [rec("e.v1", {"v": home, "n": 99}), rec("e.v1", {"v": "$", "n": 98})]
        recs += [rec("other", {"w": "abcdef"})]
        assert s.post(recs) == 200
        got = s.wait("analytics", len(recs))
        by_n = {r["attributes"].get("n"): r["attributes"] for r in got}
        for i, v in enumerate(ODD):
            assert by_n[i]["v"] == v
            assert by_n[i]["ctx.flag"] is True
        assert "v" not in by_n[99] and "v" not in by_n[98]
        (other,) = [r for r in got if r["event_name"] == "other"]
        assert other["attributes"]["w"] == "abc"
    finally:
        c.stop()


def test_output_survives_a_restart(tmp_path: Path) -> None:
    """The rotated file exporters append: a restart must not truncate what was written."""
    first = start(tmp_path / "r")
    try:
        s1 = Session(first)
        s1.post([rec("usage_report", USAGE)])
        s1.wait("analytics")
    finally:
        first.stop()
    second = start(tmp_path / "r")
    try:
        s2 = Session(second)
        s2.post([rec("usage_report", USAGE)])
        s2.wait("analytics")
        assert len(s1.output("analytics")) == 1  # same data dir, first run's record
    finally:
        second.stop()
