"""Aggregates safe to publish (`analytics report --public --min-installations K`), the way
Homebrew and Go publish theirs: every figure is computed from at least K installations, or it is
left out. Only counted sections appear (installations, versions, platforms, events, crash types,
daily actives); nothing that names an installation or a session ever does, and a figure from a
smaller cohort is suppressed, not rounded or merged into "other" (a remainder could reveal it).
"""

from __future__ import annotations

from html import escape
from typing import Any

from prodtel.analytics.display import arch_name, num, os_name, pct

FORMAT = "prodtel.analytics.public/1"
DEFAULT_MIN_INSTALLATIONS = 10


def build(report: dict[str, Any], k: int = DEFAULT_MIN_INSTALLATIONS) -> dict[str, Any]:
    """The publishable part of a report (`report.build()`), cells under `k` installations
    suppressed; `suppressed` counts them."""
    if k < 1:
        raise ValueError(f"--min-installations must be at least 1, not {k}")
    dropped = 0

    def rows(items: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
        nonlocal dropped
        kept = [{key: x[key] for key in keys} for x in items if x["installations"] >= k]
        dropped += len(items) - len(kept)
        return kept

    def count(v: int | None) -> int | None:
        nonlocal dropped
        if v is None or v >= k:
            return v
        dropped += 1
        return None

    s = report["summary"]
    big = (s.get("installations") or 0) >= k
    summary = (
        {
            "installations": s["installations"],
            "sessions": s.get("sessions"),
            "events": s.get("events"),
            "crash_free_sessions": s.get("crash_free_sessions"),
        }
        if big
        else None
    )
    dropped += 0 if big else 1
    out = {
        "format": FORMAT,
        "app": report["app"],
        "start": report["start"],
        "end": report["end"],
        "min_installations": k,
        "summary": summary,
        "by_version": rows(report["by_version"], ("version", "installations")),
        "by_os": rows(report["by_os"], ("os", "installations")),
        "by_arch": rows(report["by_arch"], ("arch", "installations")),
        "os_arch": rows(report["os_arch"], ("os", "arch", "installations")),
        "events": rows(report["events"], ("event", "version", "count", "installations")),
        "crash_types": rows(report["crash_types"], ("type", "crashes", "installations")),
        "active": [
            {
                "day": a["day"],
                "dau": count(a["dau"]),
                "wau": count(a["wau"]),
                "mau": count(a["mau"]),
            }
            for a in report["active"]
        ],
    }
    out["suppressed"] = dropped
    return out


def _table(head: list[str], body: list[list[str]]) -> str:
    if not body:
        return "<p class='none'>Nothing to show: every cell came from too few installations.</p>"
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    tr = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in body)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{tr}</tbody></table>"


CSS = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:900px;color:#111827}"
    "table{border-collapse:collapse;margin:6px 0}td,th{padding:3px 10px;"
    "border-bottom:1px solid #eee;text-align:right}td:first-child,th:first-child{text-align:left}"
    ".meta,.none{color:#6b7280}"
)


def render_html(p: dict[str, Any]) -> str:
    """A static page, nothing fetched: safe to put on a website as it is."""
    s = p["summary"]
    k = p["min_installations"]
    cards = (
        _table(
            ["installations", "sessions", "events", "crash-free sessions"],
            [
                [
                    num(s["installations"]),
                    num(s["sessions"]),
                    num(s["events"]),
                    pct(s["crash_free_sessions"]),
                ]
            ],
        )
        if s
        else _table([], [])
    )
    dash = "-"
    return "\n".join(
        [
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
            f"<title>{escape(p['app'])}: public usage figures</title><style>{CSS}</style>",
            "</head><body>",
            f"<h1>{escape(p['app'])}: usage figures</h1>",
            f"<p class='meta'>{escape(p['start'])} to {escape(p['end'])} (UTC days). Every "
            f"figure comes from at least {k} installations; {p['suppressed']} smaller ones "
            "are left out.</p>",
            cards,
            "<h2>Versions</h2>",
            _table(
                ["version", "installations"],
                [[x["version"] or "(none)", num(x["installations"])] for x in p["by_version"]],
            ),
            "<h2>Platforms</h2>",
            _table(
                ["OS", "architecture", "installations"],
                [
                    [os_name(x["os"]), arch_name(x["arch"]), num(x["installations"])]
                    for x in p["os_arch"]
                ],
            ),
            "<h2>Events</h2>",
            _table(
                ["event", "version", "count", "installations"],
                [
                    [x["event"], x["version"], num(x["count"]), num(x["installations"])]
                    for x in p["events"]
                ],
            ),
            "<h2>Crashes by type</h2>",
            _table(
                ["type", "crashes", "installations"],
                [[x["type"], num(x["crashes"]), num(x["installations"])] for x in p["crash_types"]],
            ),
            "<h2>Daily active installations</h2>",
            _table(
                ["day", "DAU", "WAU", "MAU"],
                [
                    [
                        a["day"],
                        *(dash if a[c] is None else num(a[c]) for c in ("dau", "wau", "mau")),
                    ]
                    for a in p["active"]
                ],
            ),
            "</body></html>",
        ]
    )


def render_text(p: dict[str, Any]) -> str:
    s = p["summary"]
    lines = [
        f"{p['app']} public figures, {p['start']} to {p['end']}: cells under "
        f"{p['min_installations']} installations suppressed ({p['suppressed']})",
        f"  installations: {num(s['installations'])}" if s else "  (too few installations)",
    ]
    lines += [f"  version {x['version']}: {num(x['installations'])}" for x in p["by_version"]]
    lines += [f"  {os_name(x['os'])}: {num(x['installations'])}" for x in p["by_os"]]
    return "\n".join(lines)
