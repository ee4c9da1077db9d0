"""Deletion requests on the analytics store: every row of a deleted installation id goes.

The SDK sends one `TelemetryDeletionRequested` record carrying the old installation id
(`telemetry disable --delete`, `reset-id --delete`). `apply()` moves the ids of such records into
`prodtel_deletions` and removes every otel_logs row with one of those ids, the request itself
included, with a lightweight DELETE (chDB and ClickHouse alike). The table keeps the id and
when it was applied, nothing else, so rows of that id that arrive later (a retry, another
process's outbox) are removed by the next run too. `forget()` does the same for ids given by
hand (`prodtel analytics forget --installation-id ID`).
"""

from __future__ import annotations

from typing import Any, Protocol

from prodtel._builtins import DELETION

TABLE = "prodtel_deletions"
ID = "ResourceAttributes['app.installation.id']"

DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    installation_id String COMMENT 'an installation whose analytics rows are deleted',
    source LowCardinality(String) COMMENT 'request (the SDK sent one) or forget (by hand)',
    applied DateTime64(6, 'UTC')
) ENGINE = ReplacingMergeTree(applied) ORDER BY installation_id
"""

# The ids of deletion requests in otel_logs that the table does not know yet.
COLLECT = f"""
INSERT INTO {TABLE}
SELECT DISTINCT {ID} AS id, 'request', now64(6) FROM otel_logs
WHERE EventName = '{DELETION}' AND id != '' AND id NOT IN (SELECT installation_id FROM {TABLE})
"""

COUNT = f"SELECT count() AS n FROM otel_logs WHERE {ID} IN (SELECT installation_id FROM {TABLE})"
DELETE = f"DELETE FROM otel_logs WHERE {ID} IN (SELECT installation_id FROM {TABLE})"


class Store(Protocol):
    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]: ...

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None: ...


def _ids(db: Store) -> set[str]:
    return {r["installation_id"] for r in db.rows(f"SELECT installation_id FROM {TABLE} FINAL")}


def apply(db: Store) -> dict[str, Any]:
    """Take in the deletion requests stored in otel_logs and delete every row of every
    deleted id. {"installations": ids newly requested, "rows": rows deleted}."""
    db.execute(DDL)
    before = _ids(db)
    db.execute(COLLECT)
    new = sorted(_ids(db) - before)
    return {"installations": new, "rows": _delete(db)}


def forget(db: Store, ids: list[str]) -> dict[str, Any]:
    """Delete every row of `ids` (by hand), and remember them for rows arriving later."""
    db.execute(DDL)
    clean = sorted({i.strip() for i in ids if i.strip()})
    if not clean:
        raise ValueError("give at least one installation id")
    known = _ids(db)
    for i in clean:
        if i not in known:
            db.execute(f"INSERT INTO {TABLE} VALUES ({{id:String}}, 'forget', now64(6))", {"id": i})
    requested = apply(db)
    return {"installations": clean, "rows": requested["rows"], "requests": requested}


def _delete(db: Store) -> int:
    """A lightweight DELETE, only when there is something to delete (each one is a mutation)."""
    n: int = db.rows(COUNT)[0]["n"]
    if n:
        db.execute(DELETE, None)
    return n
