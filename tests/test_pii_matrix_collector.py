"""The PII matrix through the collector alone: the real otelcol-prodtel running the pipeline
generated from the app's catalog gets raw OTLP that never passed the SDK's scrubber, as a rogue
or old client sends it, logs and traces. Every kind of personal data the collector has a
pattern for (tests/support/pii.py; this machine's user, host and home are only known to the
SDK) in every place, in several contexts: 0 leaks in what the exporters write. The
false-positive corpus in the same places arrives unchanged. The SDK half is
tests/test_pii_matrix.py.

Each (kind, place, context) goes under its own `session.id`, one resource each, all of a place
in one request; what the file exporters wrote is read back per session.
"""

from __future__ import annotations

import gzip
import http.client
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from prodtel import Attr, Catalog, Event, Span
from prodtel.collector_config import generate
from prodtel.delivery.encode import Encoder
from prodtel.spans import SpanData
from tests.support.collector import Collector, attrs, pipeline
from tests.support.pii import (
    CONTEXTS,
    FALSE_POSITIVES,
    FP_CONTEXTS,
    Kind,
    kinds,
    leaks,
    matrix,
    stack_frame,
    strings,
)

pytestmark = pytest.mark.e2e

CATALOG = Catalog(
    "piiapp",
    [Event("note", "Free text.", attrs=[Attr("text", str, "Text.", max_length=4096)])],
    spans=[
        Span("job.run", "A job.", attrs=[Attr("job.note", str, "Note.", max_length=4096)]),
    ],
)
OUTPUTS = ("analytics", "errors", "traces")
Rec = tuple[int, int, str, dict[str, Any], dict[str, Any]]


@pytest.fixture(scope="module")
def col(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    work = tmp_path_factory.mktemp("piicollector")
    with pipeline(work, generate(CATALOG), work / "data") as c:
        yield c


def resource(session: str, **values: str) -> dict[str, str]:
    return {
        "service.name": "piiapp",
        "service.version": "1.0.0",
        "os.type": "linux",
        "os.version": "6.1.0-13-amd64",
        "app.installation.id": "6f1c2f9e-8a51-4d43-9a37-0f3f1d2b9c10",
        "session.id": session,
        **values,
    }


def rec(name: str, attributes: dict[str, Any], sev: int = 9) -> Rec:
    return (time.time_ns(), sev, name, {**attributes, "log.record.uid": uuid.uuid4().hex}, {})


def exception(message: str = "boom", stack: str = "") -> dict[str, Any]:
    return {
        "exception.type": "RuntimeError",
        "exception.message": message,
        "exception.stacktrace": stack or f"Traceback:\nRuntimeError: {message}\n",
        "exception.handled": True,
    }


def stack(text: str) -> str:
    return "".join(traceback.format_exception(stack_frame(text)))


def span(text: str = "", **kw: Any) -> SpanData:
    now = time.time_ns()
    ids = uuid.uuid4().int
    kw.setdefault("attrs", {"job.note": "ok"})
    return SpanData(kw.pop("name", "job.run"), ids, ids >> 64, start=now, end=now + 1000, **kw)


# A place: how one text goes out, as (signal, resource, log records or spans, scope name).
Unit = tuple[str, dict[str, str], list[Any], str]
PLACES: dict[str, Callable[[str, str], Unit]] = {
    "event": lambda s, t: ("logs", resource(s), [rec("note", {"text": t})], "prodtel"),
    "exc message": lambda s, t: ("logs", resource(s), [rec("exception", exception(t), 17)], ""),
    "stack trace": lambda s, t: (
        "logs", resource(s), [rec("exception", exception(stack=stack(t)), 17)], ""
    ),
    "resource": lambda s, t: (
        "logs",
        resource(s, **{k: t for k in ("service.version", "deployment.environment.name",
                                      "os.version")}),
        [rec("note", {"text": "ok"})],
        "",
    ),
    "log scope": lambda s, t: ("logs", resource(s), [rec("note", {"text": "ok"})], t),
    "span name": lambda s, t: ("traces", resource(s), [span(name=t)], ""),
    "span attr": lambda s, t: ("traces", resource(s), [span(attrs={"job.note": t})], ""),
    "span exception": lambda s, t: (
        "traces", resource(s), [span(events=[(1, "exception", exception(t, stack(t)))])], ""
    ),
    "span status": lambda s, t: (
        "traces", resource(s), [span(status_code=2, status_message=t)], ""
    ),
    "link attr": lambda s, t: ("traces", resource(s), [span(links=[(7, 7, {"peer": t})])], ""),
    "span scope": lambda s, t: ("traces", resource(s), [span(scope=(t, t))], ""),
}  # fmt: skip
# Places where the collector drops the whole record: nothing of it may arrive.
DROPPED = frozenset({"span name", "link attr"})


def send(col: Collector, units: list[Unit]) -> None:
    """All units in one request per signal: encoded requests of one resource each, joined (a
    protobuf message's repeated fields concatenate)."""
    bodies: dict[str, list[bytes]] = {"logs": [], "traces": []}
    for signal, res, items, scope in units:
        enc = Encoder(res, scope=scope or "prodtel")
        bodies[signal].append(enc.encode(items) if signal == "logs" else enc.traces(items))
    for signal, parts in bodies.items():
        if not parts:
            continue
        conn = http.client.HTTPConnection("127.0.0.1", col.http_port, timeout=60)
        headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}
        conn.request("POST", f"/v1/{signal}", gzip.compress(b"".join(parts), 1), headers)
        status = conn.getresponse().status
        conn.close()
        assert status == 200, (signal, status)


def written(col: Collector) -> dict[str, list[dict[str, Any]]]:
    """What the exporters wrote, per session: each resource's output (resource attributes,
    scopes, records or spans) as parsed OTLP/JSON."""
    out: dict[str, list[dict[str, Any]]] = {}
    for stem in OUTPUTS:
        for line in col.lines(col.workdir / "data" / f"{stem}.jsonl"):
            for unit in line.get("resourceLogs", []) + line.get("resourceSpans", []):
                session = attrs(unit.get("resource", {}).get("attributes", [])).get("session.id")
                out.setdefault(str(session), []).append(unit)
    return out


def run(col: Collector, units: dict[str, Unit], expected: set[str]) -> dict[str, Any]:
    """Send every unit; wait until each expected session arrived; return the output."""
    by_place: dict[str, list[Unit]] = {}
    for session, unit in units.items():
        by_place.setdefault(session.split("/")[0], []).append(unit)
    for place_units in by_place.values():
        send(col, place_units)
    deadline = time.monotonic() + 90
    got = written(col)
    while not expected <= set(got) and time.monotonic() < deadline:
        time.sleep(0.2)
        got = written(col)
    missing = expected - set(got)
    assert not missing, f"{len(missing)} never arrived, e.g. {sorted(missing)[:3]}"
    time.sleep(1)  # what is dropped travelled with what arrived; the exporters flush each 1 s
    return written(col)


def test_no_kind_leaks_from_any_place_through_the_collector(
    col: Collector, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    corpus = [k for k in kinds(str(tmp_path / "home")) if k.collector]
    units: dict[str, Unit] = {}
    index: dict[str, tuple[Kind, str, str]] = {}
    for kind in corpus:
        for place, make in PLACES.items():
            for context in CONTEXTS:
                session = f"{place}/{uuid.uuid4().hex}"
                text = context.format(kind.value)
                units[session] = make(session, text)
                index[session] = (kind, place, text)
    expected = {s for s, (_, place, _) in index.items() if place not in DROPPED}
    got = run(col, units, expected)
    found: list[str] = []
    cells: dict[tuple[str, str], int] = {}
    for session, (kind, place, text) in index.items():
        out = "\n".join(strings(got.get(session, [])))
        hits = leaks(kind, out)
        if place in DROPPED and session in got:
            hits.append("arrived, should have been dropped")
        cells[kind.name, place] = cells.get((kind.name, place), 0) + bool(hits)
        found += [f"{place}: {kind.name} in {text!r}: {h}" for h in hits]
    with capsys.disabled():
        print(matrix("collector", corpus, list(PLACES), cells, len(CONTEXTS)))
    assert found == []


def _fields(place: str, units: list[dict[str, Any]]) -> list[Any]:
    """The fields a false positive was put in, as they arrived."""
    (u,) = units
    res = attrs(u["resource"]["attributes"])
    scopes = u.get("scopeLogs") or u.get("scopeSpans") or []
    (sc,) = scopes
    items = sc.get("logRecords") or sc.get("spans") or []
    (item,) = items
    a = attrs(item.get("attributes", []))
    if place == "resource":
        return [res.get(k) for k in ("service.version", "deployment.environment.name")]
    if place in ("log scope", "span scope"):
        return [sc["scope"].get("name"), *([sc["scope"].get("version")] if "span" in place else [])]
    if place == "span status":
        return [item.get("status", {}).get("message")]
    if place == "span exception":
        (ev,) = item["events"]
        ea = attrs(ev["attributes"])
        return [ea["exception.message"], ea["exception.stacktrace"]]
    key = {"event": "text", "exc message": "exception.message", "span attr": "job.note"}
    return [a[key[place]]] if place in key else [a["exception.stacktrace"]]


def test_false_positives_arrive_unchanged_through_the_collector(
    col: Collector, capsys: pytest.CaptureFixture[str]
) -> None:
    places = {p: f for p, f in PLACES.items() if p not in DROPPED}
    units: dict[str, Unit] = {}
    want: dict[str, list[Any]] = {}
    for value in FALSE_POSITIVES:
        for context in FP_CONTEXTS:
            text = context.format(value)
            for place, make in places.items():
                session = f"{place}/{uuid.uuid4().hex}"
                units[session] = unit = make(session, text)
                want[session] = _want(place, text, unit)
    got = run(col, units, set(units))
    damaged = [
        f"{s.split('/')[0]}: {want[s]!r} arrived as {_fields(s.split('/')[0], got[s])!r}"
        for s in units
        if _fields(s.split("/")[0], got[s]) != want[s]
    ]
    n = len(FALSE_POSITIVES) * len(FP_CONTEXTS)
    with capsys.disabled():
        print(
            f"\nfalse positives through the collector: {n} texts x {len(places)} places, "
            f"{len(damaged)} damaged"
        )
    assert damaged == []


def _want(place: str, text: str, unit: Unit) -> list[Any]:
    """The fields as they were sent."""
    item = unit[2][0]
    if place in ("resource", "span scope"):
        return [text, text]
    if place == "span exception":
        return [text, item.events[0][2]["exception.stacktrace"]]
    if place == "stack trace":
        return [item[3]["exception.stacktrace"]]
    return [text]


# A secret-named XML element whose value sits on its own line (how config files are pasted into
# error messages): the collector's redaction masks same-line matches only, so the transform
# masks the value and keeps the tags and line breaks (fails without it: the value arrived whole).
XML_SECRET = "x4xZDI5Ytylt0lPKB-D1msmctlX6qVzD"
XML_TEXT = (
    f"bad config:\n<trelloToken>\n    {XML_SECRET}\n</trelloToken>\n<keyboard>\n  us\n</keyboard>"
)
XML_PLACES = ("event", "exc message", "stack trace", "span attr", "span exception", "span status")


def test_a_secret_xml_element_across_lines_is_masked_and_its_lines_kept(col: Collector) -> None:
    units = {f"{place}/{uuid.uuid4().hex}": PLACES[place] for place in XML_PLACES}
    sent = {s: make(s, XML_TEXT) for s, make in units.items()}
    got = run(col, sent, set(sent))
    masked = XML_TEXT.replace(XML_SECRET, "****")
    for session in sent:
        place = session.split("/")[0]
        fields = [f for f in _fields(place, got[session]) if "trelloToken" in f]
        assert fields, (place, _fields(place, got[session]))
        for field in fields:
            assert XML_SECRET not in field, (place, field)
            # Tags, line breaks and the harmless element arrive as sent.
            assert masked in field, (place, field)
