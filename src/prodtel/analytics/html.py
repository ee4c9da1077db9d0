"""The report as one self-contained HTML page: inline CSS and SVG, nothing fetched."""

from __future__ import annotations

import math
from collections import Counter
from html import escape
from typing import Any

from prodtel.analytics import charts, html_product
from prodtel.analytics.display import arch_name, num, os_name, pct
from prodtel.versions import version_key

MAX_VERSIONS = 7
OTHER = "other"
CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;
max-width:1200px;color:#111827;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#6b7280;margin-bottom:16px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px}
.card{border:1px solid #e5e7eb;border-radius:8px;padding:10px 12px}
.card b{display:block;font-size:22px}.card span{color:#6b7280;font-size:12px}
table{border-collapse:collapse;margin:6px 0}td,th{padding:3px 10px;border-bottom:1px solid #eee;
text-align:right}td:first-child,th:first-child{text-align:left}
svg.chart{width:100%;height:auto;font-size:12px;fill:#374151}
svg .title{font-size:14px;font-weight:600;fill:#111827}svg .grid{stroke:#e5e7eb}
table.cohorts td{min-width:44px}
"""


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _adoption_series(rows: list[dict[str, Any]], days: list[str]) -> list[charts.Series]:
    """One series per version, oldest at the bottom; past MAX_VERSIONS the least used are
    summed as "other" so colours and the legend stay readable."""
    use: Counter[str] = Counter()
    for x in rows:
        use[x["version"]] += x["installations"]
    kept = sorted(use, key=lambda v: -use[v])[:MAX_VERSIONS]
    per: Counter[tuple[str, str]] = Counter()
    for x in rows:
        v = x["version"] if x["version"] in kept else OTHER
        per[(x["day"], v)] += x["installations"]
    order = sorted(kept, key=version_key) + ([OTHER] if len(use) > len(kept) else [])
    return [
        (
            v or "(none)",
            [per.get((d, v), 0) for d in days],
            "#9ca3af" if v == OTHER else charts.PALETTE[i % len(charts.PALETTE)],
        )
        for i, v in enumerate(order)
    ]


def render(r: dict[str, Any], product_only: bool = False) -> str:
    """The page; `product_only`: just its product answers (retention ... breakdowns)."""
    if product_only:
        return "\n".join([*_head(r), *html_product.sections(r), "</body></html>"])
    s = r["summary"]
    days = [a["day"] for a in r["active"]]
    labels = [d[5:] for d in days]  # MM-DD
    new = {x["day"]: x["installations"] for x in r["new_installations"]}
    dau_chart = charts.line_chart(
        "Active installations per day (DAU, WAU, MAU) and new installations",
        labels,
        [
            ("DAU", [a["dau"] for a in r["active"]], charts.PALETTE[0]),
            ("WAU", [a["wau"] for a in r["active"]], charts.PALETTE[1]),
            ("MAU", [a["mau"] for a in r["active"]], charts.PALETTE[2]),
            ("new", [new.get(d, 0) for d in days], charts.PALETTE[3]),
        ],
    )
    adoption = charts.stacked_bars(
        "Version adoption: daily active installations by version",
        labels,
        _adoption_series(r["version_adoption"], days),
    )
    total = s.get("installations") or 0
    split = charts.hbars(
        "OS / architecture split (active installations)",
        [
            (
                f"{os_name(x['os'])} {arch_name(x['arch'])}",
                x["installations"],
                f"{x['installations']:,} ({pct(x['installations'] / total if total else 0)})",
            )
            for x in r["os_arch"]
        ],
    )
    crash_rows = r["crashes"]["groups"]
    rates = [x["crash_free_sessions"] for x in crash_rows if x["crash_free_sessions"] is not None]
    lo = max(0.0, math.floor((min(rates, default=1.0) - 0.02) * 20) / 20)  # zoom, axis says so
    crash_free = charts.hbars(
        f"Crash-free sessions per version (axis from {lo:.0%})",
        [
            (
                x["version"] or "(none)",
                x["crash_free_sessions"] or 0.0,
                f"{pct(x['crash_free_sessions'])} of {x['sessions']:,} sessions",
            )
            for x in crash_rows
        ],
        fmt=lambda v: f"{100 * v:g}%",
        lo=lo,
        hi=1.0,
    )
    cards = [
        ("active installations", num(s.get("installations"))),
        ("sessions", num(s.get("sessions"))),
        ("events", num(s.get("events"))),
        ("opt-out rate", pct(s.get("opt_out_rate"))),
        ("crashes", num(s.get("crashes"))),
        ("crash-free sessions", pct(s.get("crash_free_sessions"))),
    ]
    cmd = r["commands"]
    cmd_rows = [
        [
            x.get("command", "(all)"),
            num(x["runs"]),
            num(x["errors"]),
            num(x["p50_ms"]),
            num(x["p95_ms"]),
        ]
        for x in [*cmd["groups"], *([cmd["all"]] if cmd["all"] else [])]
    ]
    runs = r["runs"]
    run_rows = [
        [x.get("version", "(all)"), num(x["runs"]), num(x["p50"], 2), num(x["p95"], 2)]
        for x in [*runs["groups"], *([runs["all"]] if runs["all"] else [])]
    ]
    event_rows = [
        [x["event"], x["version"], num(x["count"]), num(x["installations"])] for x in r["events"]
    ]
    type_rows = [
        [x["type"], num(x["crashes"]), num(x["sessions"]), ", ".join(x["versions"])]
        for x in r["crash_types"]
    ]
    parts = [
        *_head(r),
        "<div class='cards'>"
        + "".join(
            f"<div class='card'><b>{escape(v)}</b><span>{escape(k)}</span></div>" for k, v in cards
        )
        + "</div>",
        "<h2>Activity</h2>",
        dau_chart,
        "<h2>Versions</h2>",
        adoption,
        "<h2>Platforms</h2>",
        split,
        "<h2>Stability</h2>",
        crash_free,
        _table(["exception.type", "crashes", "sessions", "versions"], type_rows),
        "<h2>Commands (duration in ms)</h2>",
        _table(["command", "runs", "errors", "p50", "p95"], cmd_rows),
        f"<h2>Run durations ({escape(runs['event'])}.{escape(runs['attribute'])})</h2>",
        _table(["version", "runs", "p50", "p95"], run_rows),
        "<h2>Events</h2>",
        _table(["event", "version", "count", "installations"], event_rows),
        *html_product.sections(r),
        "</body></html>",
    ]
    return "\n".join(parts)


def _head(r: dict[str, Any]) -> list[str]:
    return [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(r['app'])}: product report</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(r['app'])}</h1>",
        f"<div class='meta'>{escape(r['start'])} to {escape(r['end'])} (UTC days) &middot; "
        f"{escape(r['backend'])} &middot; {escape(r['format'])}</div>",
    ]
