"""The tracking facade: stamp and enqueue on the caller's thread; nothing else.

Everything slower (catalog checks, consent gate, scrubbing, encoding, the network) runs on the
worker thread. Strict mode also checks on the caller's thread, to raise there.
"""

from __future__ import annotations

import os
import time

from prodtel._builtins import DISABLED, ENABLED
from prodtel.consent import levels
from prodtel.consent.watch import ConsentWatch
from prodtel.counters import count
from prodtel.endpoint import safe_url
from prodtel.validate import Validator

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from prodtel import pipeline
    from prodtel.config import Settings
    from prodtel.consent.resolve import Decision
    from prodtel.consent.store import ConsentStore
    from prodtel.delivery.exitplan import Handoff
    from prodtel.delivery.transport import HttpTransport
    from prodtel.delivery.worker import Worker
    from prodtel.scrub import Scrubber

INFO = 9
WAKE_AT = 512  # queue length that wakes the worker before its interval


class Telemetry:
    """One app's telemetry in this process. Built by `prodtel.init()`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.drops: dict[str, int] = {}
        self.stats: dict[str, int] = {}
        self.validator = Validator(settings.catalog, settings.strict, self.drops)
        self.context: dict[str, object] = {}
        self.clock = settings.clock or time.time_ns
        self.consent = ConsentWatch(settings, settings.environ)
        self.worker: Worker | None = None
        self.resource: dict[str, str] = {}
        self._scrubber: Scrubber | None = None
        self.max_queue = 100_000
        self.local = False  # the running worker keeps records locally (level `local`)
        self.transport: HttpTransport | None = None
        # Called when recording starts after construction (an app's consent dialog calling
        # enable()): prodtel.init() points it at the facade, which then routes track() here.
        self.on_start: Callable[[Telemetry], None] | None = None
        d = self.decision
        self.notice_due = (d.first_run or d.renotice) and settings.show_notice
        if self.notice_due or (settings.debug and self.decision.level == levels.OFF):
            from prodtel import notice

            # In a `telemetry` command run the notice waits for `shutdown`, and the command
            # cancels it (cli.mount.execute).
            if self.notice_due and not notice.telemetry_command_running():
                self.notice_due = False
                notice.maybe_show(settings, self.store)
            if settings.debug and self.decision.level == levels.OFF:
                notice.explain_off(settings, self.decision)
        if self.decision.level > levels.OFF:
            self._start()
        loaded = self.consent.loaded
        if loaded is not None and loaded.get("deletion_requests"):
            from prodtel import deletion

            deletion.retry_in_background(settings, loaded)

    @property
    def decision(self) -> Decision:
        """The consent decision in force (the worker's gate also watches the consent file)."""
        return self.consent.decision

    @decision.setter
    def decision(self, decision: Decision) -> None:
        self.consent.decision = decision

    @property
    def store(self) -> ConsentStore:
        """The consent file, read on first use (an opt-out by env never touches the disk)."""
        return self.consent.store

    @property
    def state_dir(self) -> str:
        """Where the sent log and the outbox live (platformdirs state dir, or config_dir)."""
        s = self.settings
        if s.state_dir:
            return s.state_dir
        if s.config_dir:
            return s.config_dir
        from prodtel.platform import dirs

        return dirs.state_dir(s.app)

    # -- the hot path -------------------------------------------------------------------------
    def track(self, name: str, attrs: dict[str, Any], severity: int = INFO) -> None:
        v = self.validator
        if v.strict and v.event(name, attrs) is None:  # raises on bad input
            return
        w = self.worker
        if w is None:
            return
        d = self.consent.decision
        if d.level != levels.ALL and not d.allows(severity):  # `all` allows every severity
            return
        q = w.queue
        if len(q) >= self.max_queue:
            w.drain()  # a burst: the caller encodes into the outbox itself; nothing is lost
        q.append((self.clock(), severity, name, attrs, self.context))  # checked on the worker
        if len(q) >= WAKE_AT and not w.wake.is_set():  # set() takes a lock: only once
            w.wake.set()

    def set_context(self, attrs: dict[str, Any]) -> None:
        # A new dict each time: queued records keep the context they were recorded with.
        self.context = {**self.context, **self.validator.context(attrs)}

    # -- pipeline -----------------------------------------------------------------------------
    @property
    def scrubber(self) -> Scrubber:
        if self._scrubber is None:
            self._scrubber = self.settings.make_scrubber()
        return self._scrubber

    def _start(self) -> None:
        from prodtel import identity, pipeline, resource
        from prodtel.delivery import sinks
        from prodtel.delivery.worker import Worker

        s = self.settings
        iid = s.installation_id or identity.installation_id(self.store)
        ci = self.decision.ci_var if s.ci == "tag" else None
        agent = self.decision.agent if s.agent == "tag" else None
        self.resource = resource.attributes(
            s.app, s.version, iid, identity.session_id(), s.environment, ci, agent
        )
        sink: sinks.Sink
        uploader = None
        self.local = self.decision.local
        if self.local:  # before the test override too: at `local` nothing is sent, anywhere
            from prodtel.delivery.local import LocalSink

            sink = LocalSink(self.state_dir, self.resource, self.stats)
        elif sinks.override is not None:
            sink = sinks.override
        elif s.debug:
            sink = sinks.DebugSink(self.resource)
        elif s.logs_url:
            from prodtel.delivery.encode import Encoder
            from prodtel.delivery.health import Reporter
            from prodtel.delivery.outbox import Outbox
            from prodtel.delivery.outbox_sink import OutboxSink
            from prodtel.delivery.transport import HttpTransport, warm_imports

            warm_imports(https=s.logs_url.partition(":")[0].lower() == "https")

            state, url, options = self.state_dir, s.logs_url, s.transport_options()
            self.transport = HttpTransport(url, **options, report=Reporter(state))
            box = OutboxSink(
                Encoder(self.resource), Outbox(state), self.transport, self.stats, state
            )
            box.drops = self.drops  # persisted, so `status` in any later run reports them
            sink = box
            uploader = (
                None if os.environ.get("PRODTEL_UPLOADER") else _uploader(state, url, options)
            )
        else:
            sink = sinks.NoEndpoint(self.stats)
        scrub = pipeline.Scrub(self.settings.make_scrubber, self.resource)
        processors: list[pipeline.Processor] = [
            pipeline.Validate(Validator(s.catalog, False, self.drops)),
            pipeline.Gate(self.consent, self.drops),
            scrub,
            pipeline.Stamp(),
        ]
        from prodtel.spans import SpanPipeline

        spans = SpanPipeline(self.consent, s.catalog, self.drops, scrub.text)
        self.worker = Worker(processors, sink, self.stats, uploader=uploader, span_pipeline=spans)
        self.worker.start()
        if self.on_start is not None:
            self.on_start(self)

    # -- consent transitions (the `telemetry enable|disable|reset-id` commands, or an app's UI) --
    def enable(
        self, level: int = levels.ALL, source: str = "command", local: bool = False
    ) -> Decision:
        """Persist the user's choice and apply it now. Emits TelemetryEnabled if it may leave.
        `local`: record at `level` but keep everything on this machine (level `local`)."""
        was = self.decision.level
        now = self.clock()
        name = levels.LOCAL if local else levels.name(level)
        changes: dict[str, Any] = {
            "level": name,
            "decided_by": source,
            "consent_version": self.settings.catalog.policy.consent_version,
        }
        if local:
            changes["local_at_ns"] = now  # other processes stop uploading what follows
        if was == levels.OFF or not self.store.get("enabled_at_ns"):
            changes["enabled_at_ns"] = now  # opt-in date: nothing recorded before it leaves
        changes.update(disabled_at_ns=None, prior_level=None)
        self.store.update(**changes)
        self.decision = self.consent.resolve()
        if self.worker is not None and self.local != self.decision.local:
            # Switching between uploading and local: what is queued leaves (or stays) under
            # the old choice, then a new pipeline starts with the right sink.
            w, self.worker = self.worker, None
            w.shutdown(self.settings.exit_timeout)
        if self.decision.level > levels.OFF:
            if self.worker is None:
                self._start()
            if self.decision.local:
                return self.decision
            self.track(
                ENABLED,
                {"level": levels.name(self.decision.level), "source": source},
                levels.LIFECYCLE_SEVERITY,
            )
        return self.decision

    def disable(self, source: str = "command", flush_timeout: float = 2.0) -> Decision:
        """Persist `off`. If telemetry was on, TelemetryDisabled is the last record that may
        leave; what was recorded before is sent or purged per the app's `on_disable`."""
        d = self.decision
        now = self.clock()
        w = self.worker
        if w is not None and d.level > levels.OFF:
            if self.settings.on_disable == "purge":
                with w.lock:
                    w.queue.clear()
                    w.spans.clear()
                count(self.drops, "purged", w.sink.purge())
            if self.settings.disable_event:
                w.queue.append(
                    (now, levels.LIFECYCLE_SEVERITY, DISABLED, {"source": source}, self.context)
                )
            # Nothing recorded from now on passes the gate. The queue only holds what the old
            # level let in, so `prior` may be ALL.
            self.decision = d.cut_off(
                now + 1, prior=levels.ALL, level=levels.OFF, winner="config file"
            )
            w.flush(flush_timeout)
        self.store.update(level="off", decided_by=source, disabled_at_ns=now)
        self.decision = self.consent.resolve()
        return self.decision

    def request_deletion(self, source: str, timeout: float = 5.0) -> dict[str, Any]:
        """A new installation id, and a deletion request for the old one sent now (or by a
        later run if the endpoint cannot be reached): see prodtel.deletion."""
        from prodtel import deletion

        old = deletion.request(self.store, source, self.clock())
        sent, queued = deletion.deliver(self.settings, self.store, timeout) if old else (0, 0)
        return {
            "deleted_installation_id": old,
            "installation_id": self.store.get("installation_id"),
            "request_delivered": old is not None and queued == 0 and sent > 0,
            "requests_queued": queued,
        }

    def reset_id(self) -> str:
        from prodtel import identity

        return identity.reset_installation_id(self.store)

    def flush(self, timeout: float = 5.0) -> bool:
        """Export everything queued now; True if it all left within `timeout` seconds."""
        return self.worker.flush(timeout) if self.worker else True

    def shutdown(self, timeout: float | None = None) -> None:
        """Bounded: waits at most `timeout` (default: the exit budget) for a last export.
        Shows the first-run notice if it is still due (a run that looked like a `telemetry`
        command but was not)."""
        if self.notice_due:
            self.notice_due = False
            from prodtel import notice

            notice.maybe_show(self.settings, self.store)
        w, self.worker = self.worker, None
        if w is not None:
            w.shutdown(self.settings.exit_timeout if timeout is None else timeout)

    def status(self) -> dict[str, Any]:
        w = self.worker
        if w is not None:  # records are checked on the worker: count what is queued now
            w.drain_queued()
        d = self.decision
        return {
            "app": self.settings.app,
            "level": d.level_name,
            "decided_by": d.winner,
            "sources": [s.as_dict() for s in d.sources],
            "problems": [
                *self.settings.problems,
                *d.problems,
                *(self.worker.sink.problems() if self.worker else []),
            ],
            "endpoint": safe_url(self.settings.logs_url),
            "endpoint_source": self.settings.sources.get("endpoint"),
            "last_delivery_error": self.transport.last_error if self.transport else None,
            "drops": dict(self.drops),
            "stats": dict(self.stats),
        }


def _uploader(
    state_dir: str, url: str, options: dict[str, Any]
) -> Callable[[Handoff | None], None]:
    import json

    given = {k: v for k, v in options.items() if v}  # the uploader's defaults otherwise
    encoded = json.dumps(given) if given else None

    def spawn(handoff: Handoff | None) -> None:
        from prodtel.delivery import upload  # only when delivery at exit failed

        upload.spawn(state_dir, url, handoff, encoded)

    return spawn
