"""Deletion requests: `telemetry disable --delete` and `telemetry reset-id --delete`.

The installation gets a new id, and one `TelemetryDeletionRequested` record carrying the old
id goes to the app's endpoint; `prodtel analytics ingest` (or `analytics forget`) then removes
every row of that id. The request is the user's explicit wish, so it is sent although telemetry
is then off, and kept in the consent file (`deletion_requests`) until the collector accepted it:
each later run of the app retries it in the background (not when an opt-out env var or flag
decided without reading the consent file). It carries nothing but the old id, the app, its
version and the platform fields every record has.
"""

from __future__ import annotations

import os
import time

from prodtel._builtins import DELETION
from prodtel.consent import levels

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from prodtel.config import Settings
    from prodtel.consent.store import ConsentStore
    from prodtel.record import Record

KEY = "deletion_requests"
RETRY_TIMEOUT = 5.0  # seconds a background retry may spend on the network


def pending(store: ConsentStore) -> list[dict[str, Any]]:
    value = store.get(KEY)
    return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []


def request(store: ConsentStore, source: str, now_ns: int) -> str | None:
    """Give the installation a new id and queue a deletion request for the old one; the old
    id, or None when there was none (nothing was ever recorded under an id)."""
    from prodtel import identity

    old = store.get("installation_id")
    if not isinstance(old, str) or not old:
        return None
    queued = [r for r in pending(store) if r.get("installation_id") != old]
    queued.append({"installation_id": old, "requested_at_ns": now_ns, "source": source})
    store.update(**{KEY: queued})
    identity.reset_installation_id(store)
    return old


def body(settings: Settings, req: dict[str, Any]) -> bytes:
    """One OTLP request holding the deletion record, with the old id on its resource."""
    from prodtel import resource
    from prodtel.delivery.encode import Encoder
    from prodtel.record import UID

    res = resource.attributes(
        settings.app, settings.version, str(req["installation_id"]), resource.new_id()
    )
    enc = Encoder(res)
    attrs = {"source": str(req.get("source", "disable")), UID: os.urandom(16).hex()}
    at = int(req.get("requested_at_ns") or time.time_ns())
    rec: Record = (at, levels.LIFECYCLE_SEVERITY, DELETION, attrs, {})
    return enc.wrap(enc.log_record(rec))


def deliver(settings: Settings, store: ConsentStore, timeout: float) -> tuple[int, int]:
    """Post every queued request; forget those the collector accepted. (sent, still queued).
    A 4xx answer is kept too: the request must not be lost to a misconfigured endpoint."""
    queued = pending(store)
    if not queued or not settings.logs_url:
        return 0, len(queued)
    from prodtel.delivery.result import ExportResult
    from prodtel.delivery.transport import HttpTransport

    transport = HttpTransport(settings.logs_url, **settings.transport_options())
    deadline = time.monotonic() + timeout
    sent: set[str] = set()
    try:
        for req in queued:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            result, _ = transport.post(body(settings, req), left)
            if result is ExportResult.OK:
                sent.add(str(req["installation_id"]))
    finally:
        transport.close()
    if sent:
        store.load()  # another process may have queued one meanwhile
        keep = [r for r in pending(store) if r.get("installation_id") not in sent]
        store.update(**{KEY: keep})
    return len(sent), len(queued) - len(sent)


def retry_in_background(settings: Settings, store: ConsentStore) -> None:
    """At start-up: requests a previous run could not deliver go out on a daemon thread."""
    if not pending(store) or not settings.logs_url:
        return
    import threading

    def run() -> None:
        try:
            deliver(settings, store, RETRY_TIMEOUT)
        except Exception:
            pass  # retried by the next run

    threading.Thread(target=run, name="prodtel-deletion", daemon=True).start()
