"""The wire encoder writes protobuf by hand for speed; the official classes must read it back
to exactly what the records say."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from prodtel.delivery.encode import Encoder
from prodtel.record import UID
from prodtel.spans import SpanData

RESOURCE = {"service.name": "app", "os.type": "linux", "host.arch": "amd64"}

values = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=300),
)
# The record uid key is drawn on purpose: the encoder writes it apart (last, with a fast path).
attr_keys = st.one_of(st.just(UID), st.text(min_size=1, max_size=40))
attr_maps = st.dictionaries(attr_keys, values, max_size=8)


def decoded_value(v):  # type: ignore[no-untyped-def]
    kind = v.WhichOneof("value")
    return getattr(v, kind)


@given(
    records=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=2**64 - 1),
            st.sampled_from([9, 17, 21, 5]),
            st.text(min_size=1, max_size=30),
            attr_maps,
            attr_maps,
        ),
        max_size=5,
    )
)
@example(records=[(0, 9, "0", {UID: False, "0": False}, {})])  # uid first in, last out
@example(records=[(0, 9, "0", {"a": 1, UID: "ab" * 16}, {UID: "c"})])  # the fast path
@example(records=[(0, 9, "0", {UID: "\u00e9" * 32}, {})])  # 32 characters, 64 bytes
def test_hand_encoding_matches_the_official_decoder(records: list) -> None:
    enc = Encoder(RESOURCE)
    body = enc.encode(records)
    body_again = enc.encode(records)  # with warm caches
    assert body == body_again
    req = ExportLogsServiceRequest.FromString(body)
    (rl,) = req.resource_logs
    assert {kv.key: kv.value.string_value for kv in rl.resource.attributes} == RESOURCE
    (sl,) = rl.scope_logs
    assert sl.scope.name == "prodtel"
    assert len(sl.log_records) == len(records)
    for got, (t, sev, name, attrs, ctx) in zip(sl.log_records, records, strict=True):
        assert got.time_unix_nano == t and got.observed_time_unix_nano == t
        assert got.severity_number == sev
        assert got.event_name == name
        pairs = [(kv.key, decoded_value(kv.value)) for kv in got.attributes]
        assert pairs == [*ctx.items(), *uid_last(attrs)]


def uid_last(attrs: dict[str, object]) -> list[tuple[str, object]]:
    """The record's own attributes as the encoder writes them: in order, its uid last."""
    rest = [(k, v) for k, v in attrs.items() if k != UID]
    return [*rest, (UID, attrs[UID])] if UID in attrs else rest


def test_uid_is_encoded_as_an_attribute() -> None:
    enc = Encoder(RESOURCE)
    uid = "ab" * 16
    body = enc.encode([(1, 9, "e", {"n": 1, UID: uid}, {"is_ci": True})])
    rec = ExportLogsServiceRequest.FromString(body).resource_logs[0].scope_logs[0].log_records[0]
    assert {kv.key: decoded_value(kv.value) for kv in rec.attributes} == {
        "is_ci": True,
        "n": 1,
        UID: uid,
    }
    assert rec.severity_text == "INFO"


ids = st.integers(min_value=1, max_value=2**64 - 1)
span_attrs = st.dictionaries(
    st.text(min_size=1, max_size=40),
    st.one_of(st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1), st.text()),
    max_size=6,
)
spans = st.builds(
    SpanData,
    name=st.text(min_size=1, max_size=30),
    trace_id=st.integers(min_value=1, max_value=2**128 - 1),
    span_id=ids,
    parent_id=st.one_of(st.just(0), ids),
    kind=st.integers(min_value=1, max_value=5),
    start=st.integers(min_value=0, max_value=2**64 - 1),
    end=st.integers(min_value=0, max_value=2**64 - 1),
    attrs=span_attrs,
    events=st.lists(
        st.tuples(st.integers(0, 2**64 - 1), st.text(max_size=20), span_attrs), max_size=3
    ),
    links=st.lists(st.tuples(st.integers(1, 2**128 - 1), ids, span_attrs), max_size=2),
    status_code=st.integers(min_value=0, max_value=2),
    status_message=st.text(max_size=40),
    scope=st.tuples(st.sampled_from(["a", "httpx"]), st.sampled_from(["", "0.1"])),
    flags=st.integers(min_value=0, max_value=255),
)


@given(batch=st.lists(spans, max_size=5))
def test_traces_encoding_matches_the_official_decoder(batch: list[SpanData]) -> None:
    body = Encoder(RESOURCE).traces(batch)
    req = ExportTraceServiceRequest.FromString(body)
    (rs,) = req.resource_spans
    assert {kv.key: kv.value.string_value for kv in rs.resource.attributes} == RESOURCE
    got = [(ss.scope.name, ss.scope.version, s) for ss in rs.scope_spans for s in ss.spans]
    order = list(dict.fromkeys(s.scope for s in batch))  # one ScopeSpans per scope, in order
    expected = sorted(batch, key=lambda s: order.index(s.scope))
    assert len(got) == len(expected)
    for (scope, version, g), s in zip(got, expected, strict=True):
        assert (scope, version) == s.scope
        assert g.name == s.name and g.kind == s.kind
        assert int.from_bytes(g.trace_id, "big") == s.trace_id
        assert int.from_bytes(g.span_id, "big") == s.span_id
        assert int.from_bytes(g.parent_span_id or b"\0", "big") == s.parent_id
        assert (g.start_time_unix_nano, g.end_time_unix_nano) == (s.start, s.end)
        assert [(kv.key, decoded_value(kv.value)) for kv in g.attributes] == list(s.attrs.items())
        assert [
            (e.time_unix_nano, e.name, [(kv.key, decoded_value(kv.value)) for kv in e.attributes])
            for e in g.events
        ] == [(t, n, list(a.items())) for t, n, a in s.events]
        assert [
            (
                int.from_bytes(link.trace_id, "big"),
                int.from_bytes(link.span_id, "big"),
                [(kv.key, decoded_value(kv.value)) for kv in link.attributes],
            )
            for link in g.links
        ] == [(t, i, list(a.items())) for t, i, a in s.links]
        assert (g.status.code, g.status.message) == (s.status_code, s.status_message)
        assert g.flags == s.flags
