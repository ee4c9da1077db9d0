"""The PII matrix through the SDK: every kind of personal data (tests/support/pii.py) in every
place an app can put it, in several contexts, and what leaves the process read back as bytes:
the OTLP requests an in-process receiver gets (logs and traces) and the Sentry events of the
error path. 0 leaks. The false-positive corpus in the same places arrives unchanged.

Places: an event attribute, an exception message, a stack trace (a frame's file name and
source line), the resource values the app or OS supplies (version, environment, OS version),
a span's name (the instrumentation's), a span attribute, a span's exception event, its status
message, a link attribute, and the tracer's scope name and version. The collector half is
tests/test_pii_matrix_collector.py.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from opentelemetry.trace import Link, Status, StatusCode

import prodtel
from prodtel import Attr, Catalog, Event, Span, crash, otel
from prodtel import platform as host
from tests.support.loopback import wait_until
from tests.support.pii import (
    CONTEXTS,
    FALSE_POSITIVES,
    FP_CONTEXTS,
    USER,
    as_user,
    kinds,
    leaks,
    matrix,
    stack_frame,
)
from tests.support.sentry_memory import Memory
from tests.support.traces import OTLPReceiver

DSN = "http://publickey@127.0.0.1:9/7"
VERSION = "1.0.0"


@dataclass
class Env:
    receiver: OTLPReceiver
    mem: Memory
    home: Path
    catalog: Catalog
    mp: pytest.MonkeyPatch
    base: Path

    def init(self, version: str = VERSION, environment: str | None = None) -> None:
        prodtel.init(
            self.catalog,
            version,
            environment=environment,
            endpoint=self.receiver.url,
            config_dir=str(self.base / "cfg"),
            sentry_dsn=DSN,
            strict=True,
        )

    def sent(self, act: Callable[[], None], sentry: bool = False) -> str:
        """Run `act`; everything that left for it (OTLP bodies, Sentry events) as one text."""
        self.receiver.bodies.clear()
        self.mem.envelopes.clear()
        act()
        assert prodtel.flush(5)
        # The request may still be on its way when flush returns: wait for it (wide margin).
        assert wait_until(lambda: self.receiver.bodies, timeout=10), "nothing was sent"
        out = [b.decode("utf-8", "replace") for b in self.receiver.bodies]
        if sentry:
            events = self.mem.events
            assert len(events) == 1, events
            out.append(json.dumps(events, ensure_ascii=False))
            headers = [e.headers for e in self.mem.envelopes]
            out.append(json.dumps(headers, ensure_ascii=False, default=str))
        return "\n".join(out)


def texts(home: str) -> list[str]:
    """Every PII text the corpus sends: the instrumentation span names the catalog maps."""
    return [c.format(k.value) for k in kinds(home) for c in CONTEXTS]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    base = tmp_path_factory.mktemp("piimatrix")
    home = base / "home" / USER
    home.mkdir(parents=True)
    # Instrumentations name spans as they like: the catalog maps every such name to "job.run".
    names = [
        "run job",
        *texts(str(home)),
        *(c.format(v) for v in FALSE_POSITIVES for c in FP_CONTEXTS),
    ]
    catalog = Catalog(
        "piiapp",
        [Event("note", "Free text.", attrs=[Attr("text", str, "Text.", max_length=4096)])],
        spans=[
            Span(
                "job.run",
                "A job.",
                names=names,
                attrs=[Attr("job.note", str, "Note.", max_length=4096)],
            )
        ],
    )
    receiver = OTLPReceiver()
    with pytest.MonkeyPatch.context() as mp:
        mem = as_user(mp, home, catalog.app)
        e = Env(receiver, mem, home, catalog, mp, base)
        e.init()
        try:
            yield e
        finally:
            crash.uninstall()
            prodtel.shutdown(0)
            receiver.close()


# -- the places -------------------------------------------------------------------------------
def _raise(text: str) -> None:
    raise RuntimeError(text)


def _capture(exc: BaseException) -> None:
    try:
        raise exc
    except BaseException as e:
        prodtel.capture_exception(e)


def event(env: Env, text: str) -> str:
    return env.sent(lambda: prodtel.track("note", text=text))


def exception_message(env: Env, text: str) -> str:
    def act() -> None:
        try:
            _raise(text)
        except RuntimeError as e:
            prodtel.capture_exception(e)

    return env.sent(act, sentry=True)


def stack_trace(env: Env, text: str) -> str:
    exc = stack_frame(text)
    return env.sent(lambda: prodtel.capture_exception(exc), sentry=True)


def resource(env: Env, text: str) -> str:
    """`version`, `environment` and the OS version carry the text; one event and one error."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(host, "os_version", lambda: text)
        mp.setattr(platform, "release", lambda: text)
        env.init(version=text, environment=text)
        try:

            def act() -> None:
                prodtel.track("note", text="ok")
                _capture(RuntimeError("boom"))

            return env.sent(act, sentry=True)
        finally:
            env.init()


def _span(
    env: Env,
    name: str = "run job",
    note: str = "ok",
    scope: tuple[str, str] = ("jobs", "1.0"),
    exc: BaseException | None = None,
    status: str | None = None,
    link: str | None = None,
) -> str:
    def act() -> None:
        tracer = otel.tracer_provider().get_tracer(*scope)
        links = []
        if link is not None:
            other = tracer.start_span("other")
            other.end()
            links = [Link(other.get_span_context(), {"peer": link})]
        with tracer.start_as_current_span(name, links=links) as span:
            span.set_attribute("job.note", note)
            if exc is not None:
                span.record_exception(exc)
            if status is not None:
                span.set_status(Status(StatusCode.ERROR, status))

    out = env.sent(act)
    assert "job.run" in out, "the span did not leave"
    return out


PLACES: dict[str, Callable[[Env, str], str]] = {
    "event": event,
    "exc message": exception_message,
    "stack trace": stack_trace,
    "resource": resource,
    "span name": lambda env, t: _span(env, name=t),
    "span attr": lambda env, t: _span(env, note=t),
    "span exception": lambda env, t: _span(env, exc=stack_frame(t)),
    "span status": lambda env, t: _span(env, status=t),
    "link attr": lambda env, t: _span(env, link=t),
    "span scope": lambda env, t: _span(env, scope=(t, t)),
}


def test_no_kind_leaks_from_any_place_through_the_sdk(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    found: list[str] = []
    cells: dict[tuple[str, str], int] = {}
    corpus = kinds(str(env.home))
    for kind in corpus:
        for place, send in PLACES.items():
            n = 0
            for context in CONTEXTS:
                text = context.format(kind.value)
                hits = leaks(kind, send(env, text))
                n += bool(hits)
                found += [f"{place}: {kind.name} in {text!r}: {h}" for h in hits]
            cells[kind.name, place] = n
    with capsys.disabled():
        print(matrix("SDK", corpus, list(PLACES), cells, len(CONTEXTS)))
    assert found == []


# A span leaves under its catalog name whatever the instrumentation called it: no span name
# place here. Stack traces show the text as the source line does (its repr), checked apart.
FP_PLACES: dict[str, Callable[[Env, str], str]] = {
    k: v for k, v in PLACES.items() if k not in ("span name", "stack trace", "span exception")
}


def test_false_positives_arrive_unchanged_through_the_sdk(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    damaged = []

    def on_the_wire(send: Callable[[Env, str], str], text: str, expect: str) -> bool:
        """The OTLP requests carry `expect` byte for byte (Sentry events aside)."""
        send(env, text)
        return any(expect in b.decode("utf-8", "replace") for b in env.receiver.bodies)

    for value in FALSE_POSITIVES:
        for context in FP_CONTEXTS:
            text = context.format(value)
            for place, send in FP_PLACES.items():
                if not on_the_wire(send, text, text):
                    damaged.append(f"{place}: {text!r}")
            for place in ("stack trace", "span exception"):  # as the source line shows it
                if not on_the_wire(PLACES[place], text, repr(text)):
                    damaged.append(f"{place}: {text!r}")
    n = len(FALSE_POSITIVES) * len(FP_CONTEXTS)
    with capsys.disabled():
        print(
            f"\nfalse positives through the SDK: {n} texts x {len(FP_PLACES) + 2} places, "
            f"{len(damaged)} damaged"
        )
    assert damaged == []
