"""Where the SQL runs: embedded chDB on a local folder (default) or a ClickHouse server.

Both take the same SQL text with ClickHouse query parameters (`{app:String}`) and return rows as
dicts of plain JSON values, so the report code does not know which one it talks to.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from prodtel.analytics.lock import FolderLock, LockBusy

Row = dict[str, Any]
Params = dict[str, Any]


class Backend(Protocol):
    name: str

    def rows(self, sql: str, params: Params | None = None) -> list[Row]: ...

    def close(self) -> None: ...


class Chdb:
    """An embedded chDB database in `folder`, held under the folder lock while open."""

    name = "chdb"

    def __init__(self, folder: Path, wait: float = 5.0, progress: Any = None) -> None:
        self.folder = folder
        self.lock = FolderLock(folder, wait).acquire()
        try:
            from chdb.session import Session

            self.session: Any = Session(str(folder))  # type: ignore[no-untyped-call]
        except BaseException as e:
            self.lock.release()
            if "Cannot lock file" in str(e) or "Error initializing EmbeddedServer" in str(e):
                # A chDB process that does not use our lock (e.g. a notebook) has the folder.
                raise LockBusy(
                    f"{folder} is in use by another chDB process (chDB allows one process per"
                    " folder); close it and retry"
                ) from None
            raise
        self.execute("SET output_format_json_quote_64bit_integers = 0")
        self.execute("SET output_format_json_quote_denormals = 0")

    def set_progress(self, callback: Any) -> None:
        """`callback(payload)` gets chDB's progress dicts (read_bytes, read_rows, ...)."""
        self.session._conn.set_progress_callback(callback)

    def execute(self, sql: str, params: Params | None = None) -> None:
        self.session.query(sql, "TSV", params=_chdb_params(params))

    def rows(self, sql: str, params: Params | None = None) -> list[Row]:
        res = self.session.query(sql, "JSON", params=_chdb_params(params))
        text = res.bytes()
        if not text:
            return []
        doc = json.loads(text)
        data: list[Row] = doc["data"]
        # JSON prints a whole Float64 as `0`; keep it a float, as clickhouse-connect does.
        floats = {m["name"] for m in doc["meta"] if "Float" in m["type"]}
        return [
            {k: plain(float(v) if k in floats and isinstance(v, int) else v) for k, v in r.items()}
            for r in data
        ]

    def close(self) -> None:
        try:
            self.session.close()
        finally:
            self.lock.release()

    def __enter__(self) -> Chdb:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ClickHouse:
    """A ClickHouse server over HTTP(S) via clickhouse-connect: `http://user:pw@host:8123/db`."""

    name = "clickhouse"

    def __init__(self, url: str, client: Any = None) -> None:
        self.url = url
        if client is None:
            import clickhouse_connect

            client = clickhouse_connect.get_client(dsn=url)
        self.client = client

    def rows(self, sql: str, params: Params | None = None) -> list[Row]:
        # `{name:Type}` placeholders make clickhouse-connect bind on the server side, so the
        # values travel as `param_<name>` and the SQL text is the same as on chDB.
        result = self.client.query(sql, parameters=_server_params(params))
        names = list(result.column_names)
        return [{n: plain(v) for n, v in zip(names, r, strict=True)} for r in result.result_rows]

    def execute(self, sql: str, params: Params | None = None) -> None:
        """A statement without a result (DDL, INSERT ... SELECT, DELETE)."""
        self.client.command(sql, parameters=_server_params(params))

    def close(self) -> None:
        self.client.close()


def plain(v: Any) -> Any:
    """A JSON-ready value: dates as ISO strings, NaN/inf as None, Decimal as float."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, tuple | list):
        return [plain(x) for x in v]
    return v


def _chdb_params(params: Params | None) -> Params | None:
    if not params:
        return None
    return {k: _chdb_value(v) for k, v in params.items()}


def _chdb_value(v: Any) -> Any:
    """chDB takes parameter values as text: arrays of strings as quoted literals."""
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, list):
        quoted = (str(x).replace("\\", "\\\\").replace("'", "\\'") for x in v)
        return "[" + ",".join(f"'{x}'" for x in quoted) + "]"
    return v


def _server_params(params: Params | None) -> Params:
    return dict(params or {})
