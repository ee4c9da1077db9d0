"""Delivery on real networks: through a real forward proxy, to the real collector over TLS,
with an ingest-key header, and to the endpoint the app (not the host's OTel setup) chose.
loadgen runs as a real process throughout."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.support.app import clean_env, loadgen, seen_notice
from tests.support.collector import Collector
from tests.support.forward_proxy import PROXY_ONLY_HOST, ForwardProxy, make_certs, tls_collector
from tests.support.loopback import Receiver, free_port, wait_until

pytestmark = pytest.mark.e2e  # starts the real collector and proxies

RUN = ("run", "--vus", "1", "--iterations", "2", "--duration", "1s")
SECRET = "s3cret-Ingest"


def run(home: Path, **env: str) -> dict[str, str]:
    """Run loadgen with a generous exit budget. Over https the first run of a state dir hands
    its records to the detached uploader (no round-trip estimate yet), so tests wait for them."""
    seen_notice(home)
    e = clean_env(home, PRODTEL_EXIT_TIMEOUT="5", **env)
    r = loadgen(*RUN, env=e)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    return e


def status(env: dict[str, str]) -> tuple[dict, str]:  # type: ignore[type-arg]
    r = loadgen("telemetry", "status", "--explain", "--json", env=env)
    assert r.returncode == 0, r.stderr
    text = loadgen("telemetry", "status", "--explain", env=env)
    assert text.returncode == 0 and "Traceback" not in text.stderr
    return json.loads(r.stdout), text.stdout


def failing_status(env: dict[str, str]) -> tuple[dict, str]:  # type: ignore[type-arg]
    """`status` once a delivery attempt (in the run or by its uploader) has failed."""
    deadline = time.monotonic() + 30
    while True:
        data, text = status(env)
        if data["delivery"]["last_error"] or time.monotonic() > deadline:
            return data, text
        time.sleep(0.5)


def test_https_through_a_connect_proxy_reaches_a_host_only_the_proxy_can_resolve(
    tmp_path: Path,
) -> None:
    ca = make_certs(tmp_path / "certs", PROXY_ONLY_HOST)
    with (
        tls_collector(tmp_path / "c", tmp_path / "certs") as c,
        ForwardProxy(tmp_path / "proxy", auth=f"user:{SECRET}") as proxy,
    ):
        url = f"https://{PROXY_ONLY_HOST}:{c.http_port}"
        common = {"LOADGEN_TELEMETRY_ENDPOINT": url, "LOADGEN_TELEMETRY_CA_FILE": str(ca)}
        data, _ = status(run(tmp_path / "a", **common))  # no proxy: no such name here
        assert data["outbox"]["pending"] == 2
        env = run(tmp_path / "b", HTTPS_PROXY=proxy.url, **common)
        recs = c.wait_records(2)
        assert {r["event_name"] for r in recs} == {"usage_report", "command"}
        assert {r["resource"]["session.id"] for r in recs}.__len__() == 1  # run b's only
        # proxy.py writes its access log after the tunnel closes: wait for the line
        connect = f"CONNECT {PROXY_ONLY_HOST}:{c.http_port}"
        assert wait_until(lambda: connect in proxy.log.read_text(), timeout=15.0)
        data, text = status(env)
    assert data["delivery"]["proxy"] == f"http://***@127.0.0.1:{proxy.port}"
    assert data["delivery"]["endpoint"] == f"{url}/v1/logs"
    assert SECRET not in json.dumps(data) and SECRET not in text


def test_plain_http_through_the_proxy_and_lower_case_vars(tmp_path: Path) -> None:
    with Collector(tmp_path / "c") as c, ForwardProxy(tmp_path / "proxy") as proxy:
        url = f"http://{PROXY_ONLY_HOST}:{c.http_port}"
        run(tmp_path, LOADGEN_TELEMETRY_ENDPOINT=url, http_proxy=proxy.url)
        recs = c.wait_records(2)
        assert {r["event_name"] for r in recs} == {"usage_report", "command"}
        assert f"{PROXY_ONLY_HOST}:{c.http_port}" in proxy.log.read_text()


def test_no_proxy_bypasses_the_proxy(tmp_path: Path, collector: Collector) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # a proxy that refuses every connection
    # loadgen's own load goes to 127.0.0.1 and honours the proxy vars too: keep it direct.
    endpoint = collector.endpoint.replace("127.0.0.1", "localhost")
    env = {"LOADGEN_TELEMETRY_ENDPOINT": endpoint, "HTTP_PROXY": dead}
    e = run(tmp_path / "a", NO_PROXY="127.0.0.1", **env)  # the proxy is used: nothing arrives
    data, _ = failing_status(e)
    assert data["delivery"]["proxy"] == dead
    assert "ConnectionRefusedError" in data["delivery"]["last_error"]
    assert any("delivery failing" in p for p in data["problems"])
    assert list(collector.log_records()) == []
    e = run(tmp_path / "b", NO_PROXY="127.0.0.1,localhost", **env)
    assert len(collector.wait_records(2)) == 2  # straight to the collector
    data, _ = status(e)
    assert data["delivery"]["proxy"] is None and data["delivery"]["last_error"] is None
    assert not any("delivery failing" in p for p in data["problems"])


@pytest.mark.parametrize("how", ["app CA setting", "SSL_CERT_FILE"])
def test_tls_to_the_real_collector_with_a_trusted_ca(tmp_path: Path, how: str) -> None:
    ca = make_certs(tmp_path / "certs", "127.0.0.1")
    with tls_collector(tmp_path / "c", tmp_path / "certs") as c:
        endpoint = f"https://127.0.0.1:{c.http_port}"
        var = "LOADGEN_TELEMETRY_CA_FILE" if how == "app CA setting" else "SSL_CERT_FILE"
        run(tmp_path, LOADGEN_TELEMETRY_ENDPOINT=endpoint, **{var: str(ca)})
        assert len(c.wait_records(2)) == 2


def test_a_wrong_ca_fails_is_reported_in_status_and_never_crashes(tmp_path: Path) -> None:
    make_certs(tmp_path / "certs", "127.0.0.1")
    other = make_certs(tmp_path / "other", "127.0.0.1")  # not the collector's CA
    with tls_collector(tmp_path / "c", tmp_path / "certs") as c:
        env = run(
            tmp_path,
            LOADGEN_TELEMETRY_ENDPOINT=f"https://127.0.0.1:{c.http_port}",
            PRODTEL_CA_FILE=str(other),
        )
        data, text = failing_status(env)
        assert list(c.log_records()) == []
    assert "CERTIFICATE_VERIFY_FAILED" in data["delivery"]["last_error"]
    assert "CERTIFICATE_VERIFY_FAILED" in text
    assert data["outbox"]["pending"] == 2  # kept for a later run


def test_a_client_certificate_for_a_collector_that_demands_one(tmp_path: Path) -> None:
    ca = make_certs(tmp_path / "certs", "127.0.0.1")
    with tls_collector(tmp_path / "c", tmp_path / "certs", client_ca=ca) as c:
        common = {
            "LOADGEN_TELEMETRY_ENDPOINT": f"https://127.0.0.1:{c.http_port}",
            "LOADGEN_TELEMETRY_CA_FILE": str(ca),
        }
        data, _ = failing_status(run(tmp_path / "a", **common))  # no client certificate
        assert data["delivery"]["last_error"] and list(c.log_records()) == []
        run(tmp_path / "b", PRODTEL_CLIENT_CERT=str(tmp_path / "certs/client.pem"), **common)
        assert len(c.wait_records(2)) == 2


def test_an_ingest_key_header_is_sent_url_decoded_and_never_shown(tmp_path: Path) -> None:
    rx = Receiver(require={"x-ingest-key": f"{SECRET}=="})
    try:
        env = run(
            tmp_path,
            LOADGEN_TELEMETRY_ENDPOINT=rx.url,
            LOADGEN_TELEMETRY_HEADERS=f"x-ingest-key={SECRET}%3D%3D,x-team=a%20b",
        )
        assert {r["event_name"] for r in rx.records} == {"usage_report", "command"}
        assert rx.headers[0]["x-team"] == "a b"
        data, text = status(env)
    finally:
        rx.close()
    assert data["delivery"]["headers"] == ["x-ingest-key", "x-team"]
    assert SECRET not in json.dumps(data) and SECRET not in text
    assert "x-ingest-key" in text


def test_a_wrong_ingest_key_is_reported(tmp_path: Path) -> None:
    rx = Receiver(require={"x-ingest-key": SECRET})
    try:
        env = run(tmp_path, PRODTEL_ENDPOINT=rx.url, PRODTEL_HEADERS="x-ingest-key=wrong")
        data, _ = failing_status(env)
    finally:
        rx.close()
    assert rx.records == [] and rx.requests == 0 and rx.headers
    assert data["delivery"]["last_error"] == "HTTP 401 from the collector"


def test_the_hosts_otel_endpoint_does_not_redirect_product_telemetry(
    tmp_path: Path, collector: Collector
) -> None:
    # The user's own OTel setup points at their collector; loadgen's own endpoint is down.
    env = run(tmp_path / "a", OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint)
    data, text = status(env)
    assert list(collector.log_records()) == []
    assert data["delivery"]["endpoint_source"] == "init()"
    rows = {r["name"]: r for r in data["endpoint_sources"]}
    assert rows["env OTEL_EXPORTER_OTLP_ENDPOINT"]["effect"].startswith("ignored")
    assert rows["init(endpoint=)"]["effect"] == "wins"
    assert "=> init(endpoint=)" in text
    # The operator's switch does redirect every prodtel-based tool.
    env = run(tmp_path / "b", PRODTEL_ENDPOINT=collector.endpoint)
    assert len(collector.wait_records(2)) == 2
    data, text = status(env)
    assert data["delivery"]["endpoint_source"] == "PRODTEL_ENDPOINT"
    assert "=> env PRODTEL_ENDPOINT" in text


def test_otel_sdk_disabled_turns_product_telemetry_off(
    tmp_path: Path, collector: Collector
) -> None:
    seen_notice(tmp_path)
    env = run(tmp_path, PRODTEL_ENDPOINT=collector.endpoint, OTEL_SDK_DISABLED="true")
    data, text = status(env)
    assert data["level"] == "off" and data["decided_by"] == "env OTEL_SDK_DISABLED"
    assert "=> env OTEL_SDK_DISABLED" in text
    collector.wait_records(0)
    assert list(collector.log_records()) == []
