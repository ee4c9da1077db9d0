"""An in-memory sentry-sdk transport, and apps started with it: the Sentry events a test's
app would have sent, next to its OTLP records (prodtel.testing.capture)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

import prodtel
from prodtel import Catalog
from prodtel.crash import hooks
from prodtel.crash.hooks import reporter
from prodtel.policy import env_prefix
from prodtel.testing import Captured, capture


class Memory(Transport):
    """Keeps envelopes in memory: what sentry-sdk would have sent."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    @property
    def events(self) -> list[dict[str, Any]]:
        sentry_sdk.flush(2)
        return [
            i.payload.json  # type: ignore[misc]
            for e in self.envelopes
            for i in e.items
            if i.type == "event" and i.payload.json is not None
        ]

    @property
    def types(self) -> list[str]:
        return [i.type or "" for e in self.envelopes for i in e.items]


Start = Callable[..., tuple[Memory, Captured]]


@contextmanager
def starts(
    monkeypatch: pytest.MonkeyPatch, catalog: Catalog, version: str, config_dir: Path, dsn: str
) -> Iterator[Start]:
    """`start(level, **init)` -> (Memory transport, Captured): init the app with a DSN at
    `level`; everything started is shut down and uninstalled on leaving."""
    cms: list[Any] = []

    def start(level: str, **kw: Any) -> tuple[Memory, Captured]:
        monkeypatch.setenv(f"{env_prefix(catalog.app)}_TELEMETRY", level)
        mem = Memory()
        monkeypatch.setattr(reporter, "transport_override", mem)
        cm = capture()
        cap = cm.__enter__()
        cms.append(cm)
        prodtel.init(catalog, version, config_dir=str(config_dir), sentry_dsn=dsn, **kw)
        return mem, cap

    try:
        yield start
    finally:
        hooks.uninstall()
        prodtel.shutdown(0)
        for cm in reversed(cms):  # innermost first, or an outer capture stays installed
            cm.__exit__(None, None, None)
