"""The consent in force for one app in this process: the consent file (read on first use), the
resolved decision, and a watch on the file so that a `telemetry disable` run in another process
stops this long-running one too."""

from __future__ import annotations

import os
import time

from prodtel.consent import levels
from prodtel.consent.resolve import resolve

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from prodtel.config import Settings
    from prodtel.consent.resolve import Decision
    from prodtel.consent.store import ConsentStore

WATCH_INTERVAL = 1.0  # seconds between two looks at the file's mtime


class ConsentWatch:
    """Holds `decision`; `current()` is what the worker's gate reads once per batch."""

    def __init__(self, settings: Settings, environ: Mapping[str, str]) -> None:
        self.settings = settings
        self.environ = environ
        self._store: ConsentStore | None = None
        self._mtime: int | None = None
        self._next_watch = 0.0
        # A loader, not the store: an opt-out by env never touches the disk.
        self.decision: Decision = resolve(settings, environ, lambda: self.store)

    @property
    def store(self) -> ConsentStore:
        """The consent file, read on first use."""
        if self._store is None:
            from prodtel.consent.store import ConsentStore, default_dir

            s = self.settings
            self._store = ConsentStore(s.config_dir or default_dir(s.app)).load()
        return self._store

    @property
    def loaded(self) -> ConsentStore | None:
        """The consent file if it was read already, else None (never reads it)."""
        return self._store

    def resolve(self) -> Decision:
        """The decision the environment and the consent file make now (not applied)."""
        return resolve(self.settings, self.environ, self.store)

    def current(self) -> Decision:
        """The decision, re-read (at most once a second) when another process changed the
        consent file. What this process recorded after that disable never leaves; what it
        recorded before keeps the level it was recorded under."""
        now = time.monotonic()
        if now < self._next_watch or self._store is None:
            return self.decision
        self._next_watch = now + WATCH_INTERVAL
        try:
            mtime = os.stat(self._store.path).st_mtime_ns
        except OSError:
            mtime = 0
        if self._mtime is None:
            self._mtime = mtime
        elif mtime != self._mtime:
            self._mtime = mtime
            old = self.decision
            self._store = None
            new = self.resolve()
            disabled_at = int(self.store.get("disabled_at_ns") or 0)
            if new.level < old.level and disabled_at:
                new = new.cut_off(disabled_at, prior=old.level)
            elif new.local and not old.local:
                # Another process chose `local`: this one keeps what it recorded before and
                # records nothing more (it has an uploading sink; the next run keeps locally).
                at = int(self.store.get("local_at_ns") or 0)
                new = new.cut_off(
                    at, prior=old.level, level=levels.OFF, winner=f"{new.winner} (local)"
                )
            self.decision = new
        return self.decision
