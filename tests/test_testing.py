"""prodtel.testing: every assertion passes on good telemetry and fails, clearly, on bad."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import prodtel
from prodtel import Attr, Catalog, CatalogError, Event, Span
from prodtel.testing import Captured, capture

CAT = Catalog(
    "tapp",
    [
        Event(
            "saved",
            "A save.",
            attrs=[Attr("n", int, "Count."), Attr("kind", str, "Kind.", enum=["a", "b"])],
        )
    ],
    context=[Attr("pro", bool, "Paid plan.")],
)
# A newer app version declares more than the published catalog: what the catalog check catches.
NEWER = Catalog(
    "tapp",
    [
        Event(
            "saved",
            "A save.",
            attrs=[
                Attr("n", int, "Count."),
                Attr("kind", str, "Kind."),
                Attr("path", str, "Where.", max_length=4096),
            ],
        ),
        Event("opened", "An open."),
    ],
    context=[Attr("pro", bool, "Paid plan.")],
)


@pytest.fixture
def sent(
    prodtel_capture: Captured, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Captured]:
    monkeypatch.setenv("TAPP_TELEMETRY", "all")
    yield prodtel_capture
    prodtel.shutdown(0)


def start(tmp_path: Path, catalog: Catalog = CAT) -> None:
    prodtel.init(catalog, "1.0", config_dir=str(tmp_path / "cfg"))


def test_the_fixture_captures_after_gate_and_scrubber(sent: Captured, tmp_path: Path) -> None:
    start(tmp_path)
    prodtel.set_context(pro=True)
    prodtel.track("saved", n=2, kind="a")
    ev = sent.assert_event("saved", n=2, pro=True)
    assert ev.attrs["kind"] == "a"
    sent.assert_matches_catalog(CAT)
    sent.assert_no_pii()
    assert sent.resource["service.name"] == "tapp"


def test_assert_event_fails_with_what_was_sent_and_the_diff(sent: Captured, tmp_path: Path) -> None:
    start(tmp_path)
    prodtel.track("saved", n=2, kind="a")
    with pytest.raises(
        AssertionError,
        match=r"'saved' was sent, but not with \{'n': 3\}:\n"
        r"  n: expected 3, got 2",
    ):
        sent.assert_event("saved", n=3)
    with pytest.raises(AssertionError, match=r"no 'opened' event was sent. Sent:\n  saved "):
        sent.assert_event("opened")


def test_assert_nothing_sent_fails_listing_the_events(sent: Captured, tmp_path: Path) -> None:
    start(tmp_path)
    prodtel.track("saved", n=1)
    with pytest.raises(AssertionError, match=r"expected nothing sent, but got:\n  saved"):
        sent.assert_nothing_sent()


def test_assert_nothing_sent_passes_when_consent_is_off(
    prodtel_capture: Captured, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    start(tmp_path)
    prodtel.track("saved", n=1)
    prodtel_capture.assert_nothing_sent()
    prodtel.shutdown(0)


def test_assert_matches_catalog_fails_naming_the_field(sent: Captured, tmp_path: Path) -> None:
    start(tmp_path, NEWER)  # the app sends what the published catalog does not declare
    prodtel.track("saved", n=1, kind="c", path="x")
    prodtel.track("opened")
    with pytest.raises(AssertionError) as err:
        sent.assert_matches_catalog(CAT)
    msg = str(err.value)
    assert "event 'saved': attribute 'kind': 'c' is not one of ['a', 'b']" in msg
    assert "event 'opened' is not in the tapp catalog" in msg
    assert "Sent:\n" in msg


def test_assert_no_pii_fails_on_scrubbable_and_machine_values(
    sent: Captured, tmp_path: Path
) -> None:
    start(tmp_path, NEWER)
    prodtel.track("saved", n=1, kind="b", path="~/notes.txt")
    sent.assert_no_pii()  # a home path already rewritten is fine
    # What reached the sink unscrubbed (as if a custom processor had put it back):
    sent.records[0].attrs["path"] = "mail bob@example.com"
    sent.records[0].attrs["kind"] = f"built in {Path.home()}/src"
    with pytest.raises(AssertionError) as err:
        sent.assert_no_pii()
    msg = str(err.value)
    assert "saved.path = 'mail bob@example.com': would be scrubbed to 'mail <email>'" in msg
    assert f"saved.kind = 'built in {Path.home()}/src': home {str(Path.home())!r}" in msg


def test_capture_keeps_sentry_events_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAPP_TELEMETRY", "all")
    with capture() as cap:
        prodtel.init(CAT, "1.0", config_dir=str(tmp_path), sentry_dsn="http://k@127.0.0.1:9/1")
        try:
            raise ValueError(f"cannot read {Path.home()}/x")
        except ValueError:
            prodtel.capture_exception()
        prodtel.flush(2)
        import sentry_sdk

        sentry_sdk.flush(2)
        cap.assert_event("exception", **{"exception.handled": True})
        assert cap.sentry_events, "the Sentry event was not captured"
        assert str(Path.home()) not in repr(cap.sentry_events)
    from prodtel import crash

    crash.uninstall()
    prodtel.shutdown(0)


def test_assert_no_pii_checks_the_final_resource_as_the_first_assertion(
    sent: Captured, tmp_path: Path
) -> None:
    t = prodtel.init(CAT, "1.0", config_dir=str(tmp_path / "cfg"), environment="staging")
    prodtel.track("saved", n=1)
    prodtel.flush(5)  # the SDK has scrubbed the resource by now
    # What the sink would get unscrubbed (as if a custom processor had put it back):
    t.resource["deployment.environment.name"] = "jane.doe@example.com"
    with pytest.raises(AssertionError, match=r"resource\.deployment\.environment\.name"):
        sent.assert_no_pii()  # nothing read the resource before this


def test_the_fixture_gives_each_test_its_own_config_and_state_dir(
    sent: Captured, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tmp_path / "developer-home"  # stands for the developer's real home
    monkeypatch.setenv("HOME", str(real))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(real / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(real / ".local/state"))
    t = prodtel.init(CAT, "1.0")  # no config_dir: the app's defaults
    prodtel.track("saved", n=1)
    sent.assert_event("saved", n=1)
    assert not real.exists() or not any(real.rglob("*")), sorted(real.rglob("*"))
    assert Path(t.state_dir).is_relative_to(tmp_path)
    assert Path(t.store.path).is_relative_to(tmp_path)


def test_the_fixture_is_strict_by_default(sent: Captured, tmp_path: Path) -> None:
    start(tmp_path)
    with pytest.raises(CatalogError, match="attribute 'n'"):
        prodtel.track("saved", n="two")
    with pytest.raises(CatalogError, match="'colour' is not declared"):
        prodtel.track("saved", colour="red")


@pytest.mark.prodtel_capture(strict=False)
def test_strict_mode_is_turned_off_with_the_marker(sent: Captured, tmp_path: Path) -> None:
    start(tmp_path)
    prodtel.track("saved", n="two", kind="a")  # dropped as in production, not raised
    assert sent.assert_event("saved").attrs.get("n") is None


def test_spans_are_captured_checked_and_scanned(sent: Captured, tmp_path: Path) -> None:
    cat = Catalog(
        "tapp",
        [],
        spans=[Span("sync", "A sync.", names=["sync run"], attrs=[Attr("files", int, "Files.")])],
    )
    start(tmp_path, cat)
    tracer = prodtel.otel.tracer_provider().get_tracer("tapp")
    with tracer.start_as_current_span("sync run") as span:
        span.set_attribute("files", 3)
        span.set_attribute("path", "/srv/x")  # undeclared: dropped on the way
    sent.assert_span("sync", files=3)
    sent.assert_matches_catalog(cat)
    sent.assert_no_pii()
    with pytest.raises(AssertionError, match="no 'sync' span with"):
        sent.assert_span("sync", files=4)
    sent.span_records[0].attrs["files"] = "mail bob@example.com"  # as if put back unscrubbed
    with pytest.raises(AssertionError, match=r"span sync\.files = 'mail bob@example.com'"):
        sent.assert_no_pii()
    with pytest.raises(AssertionError, match="span 'sync': attribute 'files' expected integer"):
        sent.assert_matches_catalog(cat)
