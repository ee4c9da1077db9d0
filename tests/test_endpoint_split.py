"""endpoint.split_url: the usual endpoint split without urllib.parse, anything else by urlsplit.
Either way the answer (or the error) must be urlsplit's own."""

from __future__ import annotations

from urllib.parse import urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from prodtel.endpoint import split_url


def by_urlsplit(url: str) -> tuple[object, ...]:
    try:
        u = urlsplit(url)
        return (u.scheme, u.hostname, u.port, u.path, u.query)
    except ValueError as e:
        return ("ValueError", str(e))


def by_split_url(url: str) -> tuple[object, ...]:
    try:
        return split_url(url)
    except ValueError as e:
        return ("ValueError", str(e))


LABEL = st.text("abcXYZ019-", min_size=1, max_size=8)
HOST = st.one_of(
    st.lists(LABEL, min_size=1, max_size=4).map(".".join),
    st.just("127.0.0.1"),
    st.just("[::1]"),
    st.just("user:pw@collector"),
    st.text(min_size=1, max_size=12),
)
URLS = st.builds(
    lambda scheme, host, port, path, query, fragment: (
        f"{scheme}://{host}{port}{path}{query}{fragment}"
    ),
    st.sampled_from(["http", "https", "HTTP", "ftp", "http "]),
    HOST,
    st.one_of(
        st.just(""),
        st.integers(0, 99999).map(lambda p: f":{p}"),
        st.sampled_from([":", ":x", ":08", ": 1"]),
    ),
    st.one_of(st.just(""), st.text("/abv1%?. é", max_size=14).map(lambda p: "/" + p)),
    st.one_of(st.just(""), st.text("a=b&?/ #", max_size=10).map(lambda q: "?" + q)),
    st.sampled_from(["", "#frag"]),
)


@settings(max_examples=800)
@given(URLS)
def test_split_url_answers_what_urlsplit_answers(url: str) -> None:
    assert by_split_url(url) == by_urlsplit(url)


@given(st.text(max_size=40))
def test_any_text_gets_urlsplits_answer(url: str) -> None:
    assert by_split_url(url) == by_urlsplit(url)


def test_the_usual_endpoints() -> None:
    for url, want in [
        ("http://127.0.0.1:4318/v1/logs", ("http", "127.0.0.1", 4318, "/v1/logs", "")),
        ("https://Telemetry.Example.com", ("https", "telemetry.example.com", None, "", "")),
        ("http://c:80/a/v1/logs?k=v", ("http", "c", 80, "/a/v1/logs", "k=v")),
    ]:
        assert split_url(url) == want == by_urlsplit(url)
