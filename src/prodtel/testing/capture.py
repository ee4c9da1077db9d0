"""The capture sink and its assertions: events and spans exactly as they would leave."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from prodtel.delivery import sinks
from prodtel.record import NAME, merged

if TYPE_CHECKING:
    from prodtel.catalog import Catalog
    from prodtel.record import Record
    from prodtel.spans import SpanData


class Sent:
    """One captured event: its name and the attributes exactly as they would be sent."""

    def __init__(self, r: Record) -> None:
        self.name: str = r[NAME]
        self.attrs: dict[str, Any] = merged(r)

    def __repr__(self) -> str:
        return f"Sent({self.name!r}, {self.attrs!r})"


class SentSpan:
    """One captured span: its catalog name, attributes, "exception" events and status
    description, exactly as they would be sent."""

    def __init__(self, s: SpanData) -> None:
        self.name = s.name
        self.attrs: dict[str, Any] = dict(s.attrs)
        self.events: list[tuple[str, dict[str, Any]]] = [(n, dict(a)) for _, n, a in s.events]
        self.links: list[dict[str, Any]] = [dict(a) for _, _, a in s.links]
        self.status_message = s.status_message

    def __repr__(self) -> str:
        return f"SentSpan({self.name!r}, {self.attrs!r})"


class Captured(sinks.Sink):
    """Records and spans that would have been sent, with the resource they would carry."""

    def __init__(self) -> None:
        self.records: list[Sent] = []
        self.span_records: list[SentSpan] = []
        self.resource: dict[str, str] = {}
        self.sentry_events: list[dict[str, Any]] = []
        # The private dirs `init()` uses while capturing (set by `capture()`), e.g. to seed a
        # consent file: `<config_dir>/telemetry.json`.
        self.config_dir: str | None = None
        self.state_dir: str | None = None

    # the Sink interface
    def write(self, records: list[Record]) -> None:
        self.records.extend(Sent(r) for r in records)

    def write_spans(self, spans: list[SpanData]) -> None:
        self.span_records.extend(SentSpan(s) for s in spans)

    def send(self, deadline: float | None, wait: bool = True) -> bool:
        return True

    def _sync(self) -> None:
        """Deliver what is queued to this sink, and take the resource as it is now."""
        import prodtel

        prodtel.flush(5)
        t = prodtel.current()
        if t is not None and t.resource:
            self.resource = dict(t.resource)

    @property
    def events(self) -> list[Sent]:
        self._sync()
        return list(self.records)

    @property
    def spans(self) -> list[SentSpan]:
        self._sync()
        return list(self.span_records)

    def assert_span(self, name: str, /, **attrs: Any) -> SentSpan:
        """Assert a span `name` (its catalog name) was sent whose attributes include `attrs`."""
        candidates = [s for s in self.spans if s.name == name]
        for s in candidates:
            if all(s.attrs.get(k) == v for k, v in attrs.items()):
                return s
        sent = "\n".join(f"  {s.name} {json.dumps(s.attrs, sort_keys=True)}" for s in self.spans)
        raise AssertionError(
            f"no {name!r} span with {attrs} was sent. Spans sent:\n{sent or '  (nothing)'}"
        )

    def named(self, name: str) -> list[Sent]:
        return [r for r in self.events if r.name == name]

    def dump(self) -> str:
        return (
            "\n".join(
                f"  {r.name} {json.dumps(r.attrs, sort_keys=True, default=str)}"
                for r in self.events
            )
            or "  (nothing)"
        )

    def assert_event(self, name: str, /, **attrs: Any) -> Sent:
        """Assert an event `name` was sent whose attributes include `attrs`."""
        candidates = self.named(name)
        for r in candidates:
            if all(r.attrs.get(k) == v for k, v in attrs.items()):
                return r
        if not candidates:
            raise AssertionError(f"no {name!r} event was sent. Sent:\n{self.dump()}")
        diffs = "\n".join(
            "  "
            + ", ".join(
                f"{k}: expected {v!r}, got {r.attrs.get(k, '<missing>')!r}"
                for k, v in attrs.items()
                if r.attrs.get(k) != v
            )
            for r in candidates
        )
        raise AssertionError(f"{name!r} was sent, but not with {attrs}:\n{diffs}")

    def assert_nothing_sent(self) -> None:
        """Assert no event and no span would have left (consent off, or nothing tracked)."""
        if self.events or self.span_records:
            spans = "".join(f"\n  span {s.name} {s.attrs}" for s in self.span_records)
            raise AssertionError(f"expected nothing sent, but got:\n{self.dump()}{spans}")

    def assert_matches_catalog(self, catalog: Catalog) -> None:
        """Assert every captured event and attribute is declared in `catalog`, with its type,
        enum and length: what the public usage page promises, and nothing more."""
        from prodtel.catalog import CatalogError
        from prodtel.record import UID
        from prodtel.validate import Validator

        problems = []
        check = Validator(catalog, strict=True, drops={})
        for e in self.events:
            attrs = {k: v for k, v in e.attrs.items() if k != UID and k not in catalog.context}
            ctx = {k: v for k, v in e.attrs.items() if k in catalog.context}
            try:
                check.event(e.name, attrs)
                check.context(ctx)
            except CatalogError as err:
                problems.append(f"  {err}")
        for s in self.spans:
            declared = catalog.spans.get(s.name)
            if declared is None:
                problems.append(f"  span {s.name!r} is not in the {catalog.app} catalog")
                continue
            for k, v in s.attrs.items():
                a = declared.attrs.get(k)
                problem = "is not declared" if a is None else a.check(v)[1]
                if problem is not None and problem != "truncated":
                    problems.append(f"  span {s.name!r}: attribute {k!r} {problem}")
        if problems:
            raise AssertionError(
                f"sent events do not match the {catalog.app} catalog:\n"
                + "\n".join(problems)
                + f"\nSent:\n{self.dump()}"
            )

    def assert_no_pii(self) -> None:
        """Assert no captured value holds personal data: nothing the scrubber would still
        rewrite (home paths, user and host names, emails, IPs, tokens), and none of this
        machine's real HOME, user name or host name."""
        from prodtel.scrub import GENERIC_USERS, Scrubber, machine_values

        events, spans = self.events, self.spans  # first: this also takes the final resource
        scrub = Scrubber()
        real = {
            k: v
            for k, v in machine_values().items()
            if v and len(v) >= 3 and not (k == "user" and v.lower() in GENERIC_USERS)
        }
        found = []
        strings = [("resource", k, v) for k, v in self.resource.items()] + [
            (e.name, k, v) for e in events for k, v in e.attrs.items()
        ]
        for s in spans:
            where = f"span {s.name}"
            strings += [(where, k, v) for k, v in s.attrs.items()]
            strings.append((where, "status", s.status_message))
            for name, attrs in s.events:
                strings += [(f"{where} event", "name", name)]
                strings += [(f"{where} event {name}", k, v) for k, v in attrs.items()]
            strings += [(f"{where} link", k, v) for a in s.links for k, v in a.items()]
        for where, key, value in strings:
            if not isinstance(value, str):
                continue
            hits = [f"{kind} {v!r}" for kind, v in real.items() if _contains(value, v)]
            if not hits and scrub(value) != value:
                hits.append(f"would be scrubbed to {scrub(value)!r}")
            if hits:
                found.append(f"  {where}.{key} = {value!r}: {', '.join(hits)}")
        if found:
            raise AssertionError("personal data in what would be sent:\n" + "\n".join(found))


def _contains(text: str, needle: str) -> bool:
    import re

    return re.search(r"(?<![\w])" + re.escape(needle) + r"(?![\w])", text) is not None


@contextmanager
def capture(
    strict: bool = False, config_dir: str | None = None, state_dir: str | None = None
) -> Iterator[Captured]:
    """Route every export to memory while the block runs; nothing leaves the process. Sentry
    events (with a DSN) are kept in `Captured.sentry_events` instead of being posted.

    For `init()` calls inside the block: `strict` raises CatalogError on bad `track()` input
    instead of dropping it silently; `config_dir` / `state_dir` replace the app's (the consent
    file, the outbox), whatever the app passes. The `prodtel_capture` fixture sets all three."""
    import prodtel
    from prodtel import config_params
    from prodtel.crash.hooks import reporter

    cap = Captured()
    cap.config_dir, cap.state_dir = config_dir, state_dir
    overrides: dict[str, Any] = {"strict": True} if strict else {}
    if config_dir is not None:
        overrides["config_dir"] = config_dir
    if state_dir is not None:
        overrides["state_dir"] = state_dir
    previous_overrides = dict(config_params.test_overrides)
    config_params.test_overrides.update(overrides)
    previous, previous_transport = sinks.override, reporter.transport_override
    sinks.override = cap
    if previous_transport is None:
        reporter.transport_override = _sentry_transport(cap)
    t = prodtel.current()
    old_sink = None
    if t is not None and t.worker is not None:
        old_sink, t.worker.sink = t.worker.sink, cap
    old_strict = None
    if strict and t is not None:  # init() ran before the block: make its checks strict too
        old_strict, t.validator.strict = t.validator.strict, True
    try:
        yield cap
    finally:
        config_params.test_overrides.clear()
        config_params.test_overrides.update(previous_overrides)
        if old_strict is not None and t is not None:
            t.validator.strict = old_strict
        sinks.override = previous
        reporter.transport_override = previous_transport
        if old_sink is not None and t is not None and t.worker is not None:
            t.worker.sink = old_sink


def _sentry_transport(cap: Captured) -> Any:
    """A sentry-sdk transport that keeps events in `cap` (None without sentry-sdk)."""
    try:
        from sentry_sdk.transport import Transport
    except ImportError:
        return None

    class Memory(Transport):
        def capture_envelope(self, envelope: Any) -> None:
            for item in envelope.items:
                if item.type == "event" and item.payload.json is not None:
                    cap.sentry_events.append(item.payload.json)

    return Memory()
