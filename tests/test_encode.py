"""The wire encoder writes protobuf by hand for speed; the official classes must read it back
to exactly what the records say."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from prodtel.delivery.encode import Encoder
from prodtel.record import UID

RESOURCE = {"service.name": "app", "os.type": "linux", "host.arch": "amd64"}

values = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=300),
)
attr_maps = st.dictionaries(st.text(min_size=1, max_size=40), values, max_size=8)


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
        assert pairs == [*ctx.items(), *attrs.items()]


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
