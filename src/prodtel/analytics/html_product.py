"""The product answers on the HTML page: retention, feature adoption, upgrade lag, error rates
and breakdowns by declared attributes (charts from `charts`, tables, a shaded cohort table)."""

from __future__ import annotations

from html import escape
from typing import Any

from prodtel.analytics import charts
from prodtel.analytics.display import num, pct

MAX_COHORTS = 8  # retention curves drawn (the newest cohorts); the table has them all
MAX_FEATURES = 30


def _pct_axis(v: float) -> str:
    return f"{100 * v:g}%"


def table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _unit(period: int) -> str:
    return "day" if period == 1 else "week"


def retention(ret: dict[str, Any]) -> list[str]:
    unit = _unit(ret["period_days"])
    cohorts = ret["cohorts"]
    n = max((len(c["rates"]) for c in cohorts), default=1)
    shown = cohorts[-MAX_COHORTS:]
    chart = charts.line_chart(
        f"Retention: share of each cohort (new installations per {unit}) active {unit}s later",
        [f"{unit} {k}" for k in range(n)],
        [
            (c["cohort"][5:], [r or 0.0 for r in c["rates"]], charts.PALETTE[i % 8])
            for i, c in enumerate(shown)
        ],
        ylabel=_pct_axis,
        ymax=1.0,
    )
    head = "".join(f"<th>{unit} {k}</th>" for k in range(n))
    rows = []
    for c in cohorts:
        cells = "".join(
            f"<td style='background:rgba(37,99,235,{0.08 + 0.6 * (r or 0):.2f})'"
            f" title='{a:,} of {c['installations']:,}'>{pct(r)}</td>"
            for a, r in zip(c["active"], c["rates"], strict=True)
        )
        rows.append(
            f"<tr><td>{escape(c['cohort'])}</td><td>{c['installations']:,}</td>{cells}</tr>"
        )
    cohort_table = (
        f"<table class='cohorts'><thead><tr><th>first seen ({unit} of)</th><th>new</th>{head}"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return [chart, cohort_table]


def adoption(ad: dict[str, Any]) -> list[str]:
    feats = ad["features"][:MAX_FEATURES]
    chart = charts.hbars(
        f"Feature adoption: share of the {ad['installations']:,} active installations",
        [
            (
                f"{f['kind']} {f['name'] or '(none)'}",
                f["share"],
                f"{pct(f['share'])} ({f['installations']:,})",
            )
            for f in feats
        ],
        fmt=_pct_axis,
        hi=1.0,
    )
    unit = _unit(ad["period_days"])
    rows = [
        [f["kind"], f["name"], num(f["installations"]), pct(f["share"]), *map(pct, f["trend"])]
        for f in ad["features"]
    ]
    head = ["kind", "name", "installations", "share", *(f"{unit} of {p}" for p in ad["periods"])]
    return [chart, table(head, rows)]


def upgrade_lag(lag: dict[str, Any]) -> list[str]:
    def text(v: dict[str, Any]) -> str:
        d50, d90 = v["days_to_50"], v["days_to_90"]
        a = "50% not reached" if d50 is None else f"50% after {d50} d"
        b = "90% not reached" if d90 is None else f"90% after {d90} d"
        return f"{a}, {b} (first seen {v['first_seen']})"

    versions = lag["versions"]
    reached = [v for v in versions if v["days_to_50"] is not None]
    chart = charts.hbars(
        "Upgrade lag: days from a version's first sighting to 50% of daily actives",
        [(v["version"] or "(none)", float(v["days_to_50"] or 0), text(v)) for v in reached],
    )
    behind = charts.hbars(
        f"Installations by how many releases their latest version is behind {lag['newest']}",
        [
            (f"{b['releases']} behind", b["installations"], f"{b['installations']:,}")
            for b in lag["behind"]
        ],
    )
    rows = [
        [
            v["version"],
            v["first_seen"],
            num(v["days_to_50"]),
            num(v["days_to_90"]),
            pct(v["peak_share"]),
        ]
        for v in versions
    ]
    head = ["version", "first seen", "days to 50%", "days to 90%", "peak share of DAU"]
    return [chart, behind, table(head, rows)]


def error_rates(er: dict[str, Any]) -> list[str]:
    chart = charts.hbars(
        "Error rate per command (outcome = error / runs)",
        [
            (c["command"] or "(none)", c["error_rate"], f"{pct(c['error_rate'])} of {c['runs']:,}")
            for c in er["commands"]
        ],
        fmt=_pct_axis,
        hi=charts.nice_max(max((c["error_rate"] for c in er["commands"]), default=0)),
    )
    rows = [
        [
            v["version"],
            num(v["runs"]),
            num(v["errors"]),
            pct(v["error_rate"]),
            pct(v["crash_free_sessions"]),
        ]
        for v in er["versions"]
    ]
    by_version = table(["version", "runs", "errors", "error rate", "crash-free sessions"], rows)
    groups = table(
        ["command", "version", "runs", "errors", "error rate"],
        [
            [g["command"], g["version"], num(g["runs"]), num(g["errors"]), pct(g["error_rate"])]
            for g in er["groups"]
        ],
    )
    return [chart, by_version, groups]


def breakdowns(bd: dict[str, Any]) -> list[str]:
    items = [
        (
            f"{c['event']}.{c['attribute']} = {v['value'] or '(not set)'}",
            v["share"],
            f"{pct(v['share'])} ({v['count']:,} records, {v['installations']:,} installations)",
        )
        for c in bd["categories"]
        for v in c["values"]
    ]
    out = []
    if items:
        out.append(
            charts.hbars(
                "Breakdowns: share of each event's records by attribute value",
                items,
                fmt=_pct_axis,
                hi=1.0,
            )
        )
    rows = [
        [f"{n['event']}.{n['attribute']}", x.get("version", "(all)"), num(x["n"]),
         num(x["p50"], 2), num(x["p95"], 2)]
        for n in bd["numbers"]
        for x in [*n["versions"], *([n["all"]] if n["all"] else [])]
    ]  # fmt: skip
    out.append(table(["attribute", "version", "values", "p50", "p95"], rows))
    return out


def sections(r: dict[str, Any]) -> list[str]:
    return [
        "<h2>Retention</h2>",
        *retention(r["retention"]),
        "<h2>Feature adoption</h2>",
        *adoption(r["adoption"]),
        "<h2>Upgrade lag</h2>",
        *upgrade_lag(r["upgrade_lag"]),
        "<h2>Error rates per command</h2>",
        *error_rates(r["error_rates"]),
        "<h2>Breakdowns by declared attributes</h2>",
        *breakdowns(r["breakdowns"]),
    ]
