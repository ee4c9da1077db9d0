"""The product report: one set of ClickHouse SQL (`sql/report/*.sql`) over `otel_logs`.

The same files run on embedded chDB and on a ClickHouse server the collector's clickhouse
exporter writes to; they take ClickHouse query parameters (`{app:String}`, `{start:Date}`,
`{end:Date}`), so they also run as they are with `clickhouse-client --param_app=...`.
`build()` returns a plain dict whose layout is the stable `--json` format (docs/analytics.md).
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from typing import TYPE_CHECKING, Any

from prodtel.analytics import product
from prodtel.analytics.backend import Backend, Row
from prodtel.versions import version_key

if TYPE_CHECKING:
    from prodtel.catalog import Catalog

FORMAT = "prodtel.analytics.report/1"
DEFAULT_DAYS = 30

# Query file -> report key, in the order they run.
QUERIES = [
    "summary",
    "new_installations",
    "active",
    "active_by",
    "version_adoption",
    "events",
    "opt_outs",
    "commands",
    "runs",
    "crashes",
    "crash_types",
]


# The report's keys, in the order `--json` prints them (docs/analytics.md).
KEYS = [
    "format", "app", "start", "end", "backend", "summary", "new_installations", "active",
    "by_version", "by_os", "by_arch", "os_arch", "version_adoption", "events", "opt_outs",
    "commands", "runs", "crashes", "crash_types",
    "retention", "adoption", "upgrade_lag", "breakdowns", "error_rates",
]  # fmt: skip


class ReportError(ValueError):
    """The report cannot be built as asked (no data, unknown app, bad range)."""


def sql(name: str) -> str:
    """The text of `sql/report/<name>.sql`."""
    return resources.files("prodtel.analytics").joinpath(f"sql/report/{name}.sql").read_text()


def apps(backend: Backend) -> list[Row]:
    return backend.rows(sql("apps"))


def resolve_app(backend: Backend, app: str | None) -> tuple[str, dt.date]:
    """The app to report on (the only one, if not given) and the day of its last record."""
    exists = backend.rows("EXISTS TABLE otel_logs")
    if not exists or not next(iter(exists[0].values())):
        raise ReportError("no otel_logs table here (run `analytics ingest` first)")
    known = apps(backend)
    if not known:
        raise ReportError("no data: otel_logs is empty (run `analytics ingest` first)")
    names = [r["app"] for r in known]
    if app is None:
        if len(known) > 1:
            raise ReportError(f"several apps have data, pick one with --app: {', '.join(names)}")
        app = names[0]
    for r in known:
        if r["app"] == app:
            return app, dt.date.fromisoformat(str(r["last_seen"])[:10])
    raise ReportError(f"no data for app {app!r}; apps with data: {', '.join(names)}")


def build(
    backend: Backend,
    app: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    days: int = DEFAULT_DAYS,
    run_event: str = "usage_report",
    run_attr: str = "duration",
    catalog: Catalog | None = None,
    breakdowns: list[str] | None = None,
) -> dict[str, Any]:
    """Run every query for `app` over [start, end] (UTC days, inclusive). Without dates: the
    `days` days ending on the app's last record. `catalog` (the app's) lists the features that
    were never used and declares which attributes `breakdowns` (`event:attribute`) may name;
    without `breakdowns`, every enum, bool and numeric attribute it declares."""
    try:
        product.declared_pairs(catalog, breakdowns)  # a bad choice fails before any query
    except product.ChoiceError as e:
        raise ReportError(str(e)) from None
    app, last = resolve_app(backend, app)
    if end is None:
        end = last if start is None else start + dt.timedelta(days=days - 1)
    if start is None:
        start = end - dt.timedelta(days=days - 1)
    if start > end:
        raise ReportError(f"empty range: start {start} is after end {end}")
    params: dict[str, Any] = {"app": app, "start": start, "end": end}
    out: dict[str, Any] = {
        "format": FORMAT,
        "app": app,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "backend": backend.name,
    }
    for name in QUERIES:
        p = {**params, "event": run_event, "attr": run_attr} if name == "runs" else params
        out[name] = backend.rows(sql(name), p)
    try:
        out.update(product.run(backend, sql, params, catalog, breakdowns))
    except product.ChoiceError as e:
        raise ReportError(str(e)) from None
    return _shape(out, run_event, run_attr)


def _shape(r: dict[str, Any], run_event: str, run_attr: str) -> dict[str, Any]:
    r["summary"] = r["summary"][0] if r["summary"] else {}
    by = r.pop("active_by")
    for key, name in (("by_version", "version"), ("by_os", "os"), ("by_arch", "arch")):
        r[key] = [
            {name: x["value"], **{k: x[k] for k in ("installations", "sessions", "events")}}
            for x in by
            if x["dimension"] == name
        ]
    r["by_version"].sort(key=lambda x: version_key(x["version"]), reverse=True)
    r["os_arch"] = [
        {"os": x["value"], "arch": x["value2"], "installations": x["installations"]}
        for x in by
        if x["dimension"] == "os_arch"
    ]
    r["commands"] = _rollup(r["commands"])
    r["runs"] = {"event": run_event, "attribute": run_attr, **_rollup(r["runs"])}
    r["crashes"] = _rollup(r["crashes"])
    crash_free = {x["version"]: x for x in r["crashes"]["groups"]}
    for v in r["error_rates"]["versions"]:
        c = crash_free.get(v["version"], {})
        v["sessions"] = c.get("sessions", 0)
        v["crash_free_sessions"] = c.get("crash_free_sessions")
    return {k: r[k] for k in KEYS}


def _rollup(rows: list[Row]) -> dict[str, Any]:
    """Split WITH ROLLUP output into the per-group rows and the all-groups row."""
    groups = [{k: v for k, v in x.items() if k != "total"} for x in rows if not x["total"]]
    totals = [{k: v for k, v in x.items() if k != "total"} for x in rows if x["total"]]
    total = totals[0] if totals and (totals[0].get("runs") or totals[0].get("sessions")) else None
    if total is not None:
        for k in ("command", "version"):
            total.pop(k, None)
    return {"all": total, "groups": groups}
