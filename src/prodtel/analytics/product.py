"""The product answers of the report: retention cohorts, feature adoption, upgrade lag,
breakdowns by declared attributes and error rates per command.

`run(backend, params, catalog, chosen)` runs their SQL (`sql/report/*.sql`, the same files on
chDB and ClickHouse) and shapes the rows into the stable `--json` sections (docs/analytics.md).
Only attributes the app's catalog declares can be broken down.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prodtel.analytics.backend import Backend, Row
from prodtel.versions import version_key

if TYPE_CHECKING:
    from prodtel.catalog import Catalog

SHORT_RANGE_DAYS = 14  # up to this many days, cohorts and trends are daily; else weekly
Pair = tuple[str, str]  # (event, attribute)
# The SQL files this module runs (breakdowns/numeric only when there are attributes to use).
QUERIES = ["retention", "adoption", "version_days", "latest_versions", "breakdowns", "numeric",
           "error_rates"]  # fmt: skip


class ChoiceError(ValueError):
    """A breakdown was asked for an attribute the catalog does not declare as usable."""


def period_days(start: dt.date, end: dt.date) -> int:
    return 1 if (end - start).days + 1 <= SHORT_RANGE_DAYS else 7


def declared_pairs(
    catalog: Catalog | None, chosen: list[str] | None
) -> tuple[list[Pair], list[Pair]]:
    """(categorical, numeric) pairs to break down. `chosen` entries are `event:attribute`; each
    must be declared (on the event or as context) as an enum, a bool or a number. Without
    `chosen`, every enum/bool attribute the catalog declares on its events and every numeric one
    of the app's own events (`command.duration_ms` already has its section)."""
    if catalog is None:
        if chosen:
            raise ChoiceError(
                "breakdowns need the app's catalog (--catalog): only attributes"
                " it declares can be chosen"
            )
        return [], []
    categorical: list[Pair] = []
    numeric: list[Pair] = []
    if not chosen:
        from prodtel.catalog import builtin_events

        builtins = {e.name for e in builtin_events()}
        for e in catalog.events.values():
            for a in e.attrs.values():
                kind = _kind(a)
                if kind == "category":
                    categorical.append((e.name, a.name))
                elif kind == "number" and e.name not in builtins:
                    numeric.append((e.name, a.name))
        return categorical, numeric
    for spec in chosen:
        event, sep, name = spec.partition(":")
        if not sep or event not in catalog.events:
            raise ChoiceError(
                f"--breakdown {spec!r}: want EVENT:ATTRIBUTE with an event of the catalog"
                f" ({', '.join(sorted(catalog.events))})"
            )
        attr = catalog.events[event].attrs.get(name) or catalog.context.get(name)
        if attr is None:
            raise ChoiceError(f"--breakdown {spec!r}: {event} declares no attribute {name!r}")
        kind = _kind(attr)
        if kind is None:
            raise ChoiceError(
                f"--breakdown {spec!r}: {name} is a free-form string; only enum, bool and"
                " numeric attributes can be broken down"
            )
        pair = (event, name)
        target = categorical if kind == "category" else numeric
        if pair not in target:
            target.append(pair)
    return categorical, numeric


def _kind(attr: Any) -> str | None:
    if attr.enum is not None or attr.type is bool:
        return "category"
    if attr.type in (int, float):
        return "number"
    return None


def run(
    backend: Backend,
    sql: Callable[[str], str],
    params: dict[str, Any],
    catalog: Catalog | None,
    chosen: list[str] | None,
) -> dict[str, Any]:
    """The product sections, keyed as in the report. `params`: app, start, end (dates)."""
    start: dt.date = params["start"]
    end: dt.date = params["end"]
    categorical, numeric = declared_pairs(catalog, chosen)
    period = period_days(start, end)
    p = {**params, "period": period}
    out: dict[str, Any] = {
        "retention": retention(backend.rows(sql("retention"), p), start, end, period),
        "adoption": adoption(backend.rows(sql("adoption"), p), start, end, period, catalog),
        "upgrade_lag": upgrade_lag(
            backend.rows(sql("version_days"), params),
            backend.rows(sql("latest_versions"), params),
        ),
    }
    cat_rows = _pairs_query(backend, sql("breakdowns"), params, categorical)
    num_rows = _pairs_query(backend, sql("numeric"), params, numeric)
    out["breakdowns"] = breakdowns(cat_rows, categorical, num_rows, numeric)
    out["error_rates"] = error_rates(backend.rows(sql("error_rates"), params))
    return out


def _pairs_query(
    backend: Backend, text: str, params: dict[str, Any], pairs: list[Pair]
) -> list[Row]:
    if not pairs:
        return []
    return backend.rows(
        text, {**params, "events": [e for e, _ in pairs], "attrs": [a for _, a in pairs]}
    )


def _periods(start: dt.date, end: dt.date, period: int) -> list[str]:
    n = ((end - start).days) // period + 1
    return [(start + dt.timedelta(days=i * period)).isoformat() for i in range(n)]


def retention(rows: list[Row], start: dt.date, end: dt.date, period: int) -> dict[str, Any]:
    periods = _periods(start, end, period)
    active: dict[int, dict[int, int]] = {}
    for r in rows:
        active.setdefault(int(r["cohort"]), {})[int(r["offset"])] = int(r["active"])
    cohorts = []
    for c in sorted(active):
        size = active[c].get(0, 0)
        counts = [active[c].get(k, 0) for k in range(len(periods) - c)]
        cohorts.append(
            {
                "cohort": periods[c],
                "installations": size,
                "active": counts,
                "rates": [n / size if size else None for n in counts],
            }
        )
    return {"period_days": period, "periods": periods, "cohorts": cohorts}


def adoption(
    rows: list[Row], start: dt.date, end: dt.date, period: int, catalog: Catalog | None
) -> dict[str, Any]:
    periods = _periods(start, end, period)
    totals: dict[tuple[str, str], int] = {}
    per: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        key = (r["kind"], r["name"])
        if r["total"]:
            totals[key] = int(r["installations"])
        else:
            per.setdefault(key, [0] * len(periods))[int(r["period"])] = int(r["installations"])
    active_all = totals.get(("active", ""), 0)
    active = per.get(("active", ""), [0] * len(periods))
    declared = set(catalog.events) if catalog is not None else set()
    keys = {k for k in totals if k[0] != "active"} | {("event", e) for e in declared}
    features: list[dict[str, Any]] = []
    for kind, name in keys:
        n = totals.get((kind, name), 0)
        counts = per.get((kind, name), [0] * len(periods))
        features.append(
            {
                "kind": kind,
                "name": name,
                "declared": kind == "event" and name in declared,
                "installations": n,
                "share": n / active_all if active_all else 0.0,
                "trend": [c / a if a else None for c, a in zip(counts, active, strict=True)],
            }
        )
    features.sort(key=lambda f: (-f["installations"], f["kind"], f["name"]))
    return {
        "period_days": period,
        "periods": periods,
        "active": active,
        "installations": active_all,
        "catalog": catalog is not None,
        "features": features,
    }


def upgrade_lag(version_rows: list[Row], latest_rows: list[Row]) -> dict[str, Any]:
    """Per version: days from first sighting to 50% / 90% of daily actives (null: not yet);
    installations by how many releases their latest version is behind the newest."""
    versions = sorted(version_rows, key=lambda r: version_key(r["version"]), reverse=True)
    out_versions = []
    for r in versions:
        first = dt.date.fromisoformat(str(r["first_seen"])[:10])

        def lag(day: Any, reached: Any, first: dt.date = first) -> int | None:
            return (dt.date.fromisoformat(str(day)[:10]) - first).days if reached else None

        out_versions.append(
            {
                "version": r["version"],
                "first_seen": first.isoformat(),
                "last_seen": str(r["last_seen"])[:10],
                "days_to_50": lag(r["day50"], r["reached50"]),
                "days_to_90": lag(r["day90"], r["reached90"]),
                "peak_share": r["peak_share"],
            }
        )
    order = [r["version"] for r in versions]
    behind: dict[int, int] = {}
    for r in latest_rows:
        k = order.index(r["version"]) if r["version"] in order else len(order)
        behind[k] = behind.get(k, 0) + int(r["installations"])
    return {
        "newest": order[0] if order else None,
        "versions": out_versions,
        "behind": [{"releases": k, "installations": behind[k]} for k in sorted(behind)],
    }


def breakdowns(
    cat_rows: list[Row], categorical: list[Pair], num_rows: list[Row], numeric: list[Pair]
) -> dict[str, Any]:
    by_pair: dict[Pair, list[dict[str, Any]]] = {p: [] for p in categorical}
    for r in cat_rows:
        by_pair[(r["event"], r["attr"])].append(
            {"value": r["value"], "count": r["count"], "installations": r["installations"]}
        )
    categories = []
    for (event, attr), values in by_pair.items():
        total = sum(v["count"] for v in values)
        for v in values:
            v["share"] = v["count"] / total if total else 0.0
        categories.append({"event": event, "attribute": attr, "values": values})
    stats: dict[Pair, dict[str, Any]] = {p: {"all": None, "versions": []} for p in numeric}
    for r in num_rows:
        row = {"n": r["n"], "p50": r["p50"], "p95": r["p95"]}
        s = stats[(r["event"], r["attr"])]
        if r["total"]:
            s["all"] = row
        else:
            s["versions"].append({"version": r["version"], **row})
    numbers = []
    for (event, attr), s in stats.items():
        s["versions"].sort(key=lambda x: version_key(x["version"]), reverse=True)
        numbers.append({"event": event, "attribute": attr, **s})
    return {"categories": categories, "numbers": numbers}


def error_rates(rows: list[Row]) -> dict[str, Any]:
    def pick(r: Row, *keys: str) -> dict[str, Any]:
        return {k: r[k] for k in (*keys, "runs", "errors", "error_rate")}

    groups = [
        pick(r, "command", "version")
        for r in rows
        if not r["all_commands"] and not r["all_versions"]
    ]
    commands = [pick(r, "command") for r in rows if r["all_versions"] and not r["all_commands"]]
    versions = [pick(r, "version") for r in rows if r["all_commands"] and not r["all_versions"]]
    commands.sort(key=lambda x: (-x["error_rate"], x["command"]))
    versions.sort(key=lambda x: version_key(x["version"]), reverse=True)
    groups.sort(key=lambda x: version_key(x["version"]), reverse=True)
    groups.sort(key=lambda x: x["command"])  # stable: newest version first within a command
    return {"commands": commands, "versions": versions, "groups": groups}
