"""Anonymous identity: a random installation id stored next to the consent file, a session id
per process. Never derived from the host name, user, MAC address or paths."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from prodtel.consent.store import ConsentStore


def installation_id(store: ConsentStore) -> str:
    """The stored id, creating it on first use. Unwritable config: a fresh id per run."""
    current = store.get("installation_id")
    if isinstance(current, str) and current:
        return current
    import uuid

    new = str(uuid.uuid4())
    store.update(installation_id=new)
    return new


def reset_installation_id(store: ConsentStore) -> str:
    import uuid

    new = str(uuid.uuid4())
    store.update(installation_id=new)
    return new


def session_id() -> str:
    """128 random bits as 32 hex characters (no uuid import on every run)."""
    return os.urandom(16).hex()
