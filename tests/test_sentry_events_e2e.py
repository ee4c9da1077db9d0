"""E2E: OTel exception record -> real collector (sentry_events exporter) -> real Bugsink.

The record comes from the raw OpenTelemetry Python SDK (LoggerProvider + OTLP/HTTP exporter),
carrying a real chained exception raised deep in a call stack. The app code is compiled under
a home-directory path (/home/<user>/src/shop/orders.py), as an installed app's would be, so
the test also proves the exporter keeps user names out of the error tracker.
"""

from __future__ import annotations

import getpass
import json
import linecache
import platform
import re
import socket
import traceback
import types
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import (
    InMemoryLogRecordExporter,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.resources import Resource

from tests.support.bugsink import Bugsink
from tests.support.collector import Collector, collector_config
from tests.support.loopback import wait_until

pytestmark = pytest.mark.e2e

# The collector config for this path: OTLP in, exception records out to a Sentry DSN.
COLLECTOR_CONFIG = collector_config(
    {
        "sentry_events": {
            "dsn": "${env:SENTRY_DSN}",
            "environment": "e2e",
            "retry_on_failure": {
                "initial_interval": "200ms",
                "max_interval": "1s",
                "max_elapsed_time": "120s",
            },
        }
    },
    processors={"batch": {"timeout": "100ms"}},
)

USER = getpass.getuser()
APP_PATH = f"/home/{USER}/src/shop/orders.py"
APP_SRC = """\
class OrderError(Exception):
    pass


def parse_qty(raw):
    return int(raw.split("-")[0])


def load_order(raw):
    try:
        return parse_qty(raw)
    except ValueError as e:
        raise OrderError(f"cannot load order {raw!r}") from e


def handle(raw):
    return load_order(raw)


def main(raw):
    return handle(raw)
"""


def load_app() -> types.ModuleType:
    """The shop app module, compiled under APP_PATH (linecache gives tracebacks its source)."""
    linecache.cache[APP_PATH] = (len(APP_SRC), None, APP_SRC.splitlines(True), APP_PATH)
    mod = types.ModuleType("shop.orders")
    mod.__file__ = APP_PATH
    exec(compile(APP_SRC, APP_PATH, "exec"), mod.__dict__)
    return mod


APP = load_app()

RESOURCE = {
    "service.name": "shop",
    "service.version": "1.4.0",
    "os.type": "linux",
    "os.version": platform.release(),
    "host.arch": "amd64",
    "process.runtime.name": "cpython",
    "process.runtime.version": platform.python_version(),
}


class App:
    """An app's telemetry: the raw OTel SDK exporting over OTLP/HTTP to the collector."""

    def __init__(self, endpoint: str) -> None:
        self.exporter = OTLPLogExporter(endpoint=f"{endpoint}/v1/logs", timeout=5)
        self.captured = InMemoryLogRecordExporter()
        self.provider = LoggerProvider(resource=Resource.create(RESOURCE))
        self.provider.add_log_record_processor(SimpleLogRecordProcessor(self.exporter))
        self.provider.add_log_record_processor(SimpleLogRecordProcessor(self.captured))
        self.logger = self.provider.get_logger("shop.crash")

    def crash(self, exc: BaseException) -> ReadableLogRecord:
        """Emit an unhandled-exception record; return it as exported."""
        self.logger.emit(
            event_name="exception",
            severity_number=SeverityNumber.FATAL,
            body="unhandled exception",
            attributes={"exception.handled": False},
            exception=exc,
        )
        return self.captured.get_finished_logs()[-1]

    def resend(self, record: ReadableLogRecord) -> None:
        """Export the same record again, as an at-least-once outbox does after a lost ack."""
        self.exporter.export([record])


@pytest.fixture(scope="module")
def sentry_collector(
    bugsink: Bugsink, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Collector]:
    col = Collector(
        tmp_path_factory.mktemp("sentry-collector"),
        config=COLLECTOR_CONFIG,
        env={"SENTRY_DSN": bugsink.dsn},
    )
    with col:
        yield col


@pytest.fixture(scope="module")
def app(sentry_collector: Collector) -> Iterator[App]:
    a = App(sentry_collector.endpoint)
    yield a
    a.provider.shutdown()


TOKENS: list[str] = []  # this module's issues; the Bugsink project is shared with other tests


def new_token() -> str:
    TOKENS.append(f"e2e{uuid.uuid4().hex[:8]}")
    return TOKENS[-1]


def raise_order_error(token: str) -> Exception:
    try:
        APP.main(f"{token}-qty")
    except Exception as e:
        return e
    raise AssertionError("did not raise")


def wait_issue(bugsink: Bugsink, token: str, timeout: float = 30) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        hits = [i for i in bugsink.issues() if token in i["calculated_value"]]
        assert len(hits) <= 1, hits
        return hits[0] if hits else None

    issue = wait_until(find, timeout=timeout, interval=0.2)
    assert issue, f"no Bugsink issue for {token} after {timeout}s"
    return issue


def expected_frames(exc: BaseException) -> list[tuple[str, int, str, str]]:
    """(abs_path as sent, lineno, function, source line) of the live traceback."""
    out = []
    for fs in traceback.extract_tb(exc.__traceback__):
        path = fs.filename.replace(f"/home/{USER}", "~")
        out.append((path, fs.lineno or 0, fs.name, (fs.line or "").strip()))
    return out


def sent_frames(value: dict[str, Any]) -> list[tuple[str, int, str, str]]:
    return [
        (f["abs_path"], f["lineno"], f["function"], f.get("context_line", ""))
        for f in value["stacktrace"]["frames"]
    ]


def test_exception_becomes_one_bugsink_issue(app: App, bugsink: Bugsink) -> None:
    token = new_token()
    exc = raise_order_error(token)
    record = app.crash(exc)

    issue = wait_issue(bugsink, token)
    assert issue["calculated_type"] == "OrderError"
    assert issue["calculated_value"] == f"cannot load order '{token}-qty'"
    events = bugsink.events(issue)
    assert len(events) == 1
    ev = events[0]

    # Both chained exceptions, oldest first; the raised one last (it titles the issue).
    cause, raised = ev["exception"]["values"]
    assert (cause["type"], cause.get("module")) == ("ValueError", None)
    assert cause["value"] == f"invalid literal for int() with base 10: '{token}'"
    assert cause["mechanism"]["source"] == "__cause__"
    assert (raised["type"], raised["module"]) == ("OrderError", "shop.orders")
    assert raised["mechanism"]["handled"] is False
    assert ev["level"] == "fatal"

    # Frames oldest first with the real line numbers and source lines.
    assert exc.__cause__ is not None
    assert sent_frames(cause) == expected_frames(exc.__cause__)
    assert sent_frames(raised) == expected_frames(exc)
    assert [f["function"] for f in raised["stacktrace"]["frames"]][-3:] == [
        "main",
        "handle",
        "load_order",
    ]
    assert all(f["in_app"] for f in raised["stacktrace"]["frames"])

    # Resource -> release, environment, tags, contexts.
    assert ev["release"] == "1.4.0"
    assert ev["environment"] == "e2e"
    assert ev["platform"] == "python"
    assert ev["tags"]["service.name"] == "shop"
    assert ev["tags"]["event_name"] == "exception"
    ctx = ev["contexts"]
    assert ctx["os"] == {"name": "Linux", "version": platform.release()}
    assert ctx["runtime"] == {"name": "CPython", "version": platform.python_version()}
    assert ctx["device"] == {"arch": "amd64"}
    assert "server_name" not in ev

    # The same record delivered again (at-least-once) is the same event: no second one.
    posts = bugsink.envelope_posts()
    app.resend(record)
    assert wait_until(lambda: bugsink.envelope_posts() > posts, timeout=15), "resend not delivered"
    issue = wait_issue(bugsink, token)
    assert issue["digested_event_count"] == 1
    assert len(bugsink.events(issue)) == 1


def test_outage_is_retried(app: App, bugsink: Bugsink, sentry_collector: Collector) -> None:
    token = new_token()
    bugsink.stop()
    try:
        app.crash(raise_order_error(token))
        # The collector tries, fails and schedules a retry while Bugsink is down.
        assert wait_until(
            lambda: "Will retry the request" in sentry_collector.log_file.read_text(), timeout=15
        ), sentry_collector.log_file.read_text()
    finally:
        bugsink.start()
    issue = wait_issue(bugsink, token, timeout=60)
    assert len(bugsink.events(issue)) == 1


def test_nothing_identifying_reaches_bugsink(app: App, bugsink: Bugsink) -> None:
    token = new_token()
    app.crash(raise_order_error(token))
    wait_issue(bugsink, token)
    ours = [i for i in bugsink.issues() if any(t in i["calculated_value"] for t in TOKENS)]
    assert ours
    stored = json.dumps([bugsink.events(i) for i in ours])
    assert f"/home/{USER}" not in stored
    assert "~/src/shop/orders.py" in stored  # the home path arrived, rewritten
    if len(USER) >= 3:
        assert not re.search(rf"\b{re.escape(USER)}\b", stored), USER
    assert socket.gethostname() not in stored
    home = str(Path.home())
    if home not in ("/", ""):
        assert home not in stored
    assert "server_name" not in stored
