"""The report as rich tables in the terminal."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from prodtel.analytics.display import arch_name, num, os_name, pct


def _table(title: str, *columns: str) -> Table:
    t = Table(title=title, title_justify="left", title_style="bold")
    for i, c in enumerate(columns):
        t.add_column(c, justify="left" if i == 0 else "right")
    return t


def render(r: dict[str, Any], console: Console | None = None) -> None:
    con = console or Console()
    s = r["summary"]
    con.print(
        f"[bold]{r['app']}[/bold]  {r['start']} .. {r['end']} (UTC)  [dim]{r['backend']}[/dim]"
    )
    t = _table("Summary", "figure", "value")
    t.add_row("events", num(s.get("events")))
    t.add_row("active installations", num(s.get("installations")))
    t.add_row("sessions", num(s.get("sessions")))
    t.add_row("opted out (TelemetryDisabled)", num(s.get("opted_out")))
    t.add_row("opt-out rate", pct(s.get("opt_out_rate")))
    t.add_row("crashes", num(s.get("crashes")))
    t.add_row("crash-free sessions", pct(s.get("crash_free_sessions")))
    con.print(t)

    new = {x["day"]: x["installations"] for x in r["new_installations"]}
    outs = {x["day"]: x for x in r["opt_outs"]}
    t = _table("Active installations per day", "day", "new", "DAU", "WAU", "MAU", "opt-outs")
    for a in r["active"]:
        o = outs.get(a["day"], {})
        t.add_row(
            a["day"],
            num(new.get(a["day"], 0)),
            num(a["dau"]),
            num(a["wau"]),
            num(a["mau"]),
            num(o.get("opt_outs", 0)),
        )
    con.print(t)

    for key, label, name in (
        ("by_version", "version", str),
        ("by_os", "os", os_name),
        ("by_arch", "arch", arch_name),
    ):
        total = s.get("installations") or 0
        t = _table(f"Active installations by {label}", label, "installations", "share", "events")
        for x in r[key]:
            share = x["installations"] / total if total else None
            t.add_row(name(x[label]), num(x["installations"]), pct(share), num(x["events"]))
        con.print(t)

    t = _table("Events by name and version", "event", "version", "count", "installations")
    for x in r["events"]:
        t.add_row(x["event"], x["version"], num(x["count"]), num(x["installations"]))
    con.print(t)

    t = _table("Command durations (ms)", "command", "runs", "errors", "p50", "p95")
    rows = [*r["commands"]["groups"], *([r["commands"]["all"]] if r["commands"]["all"] else [])]
    for x in rows:
        t.add_row(
            x.get("command", "(all)"),
            num(x["runs"]),
            num(x["errors"]),
            num(x["p50_ms"]),
            num(x["p95_ms"]),
        )
    con.print(t)

    runs = r["runs"]
    t = _table(
        f"Run durations ({runs['event']}.{runs['attribute']})", "version", "runs", "p50", "p95"
    )
    for x in [*runs["groups"], *([runs["all"]] if runs["all"] else [])]:
        t.add_row(x.get("version", "(all)"), num(x["runs"]), num(x["p50"], 2), num(x["p95"], 2))
    con.print(t)

    c = r["crashes"]
    t = _table("Crashes per version", "version", "sessions", "crashes", "crash-free sessions")
    for x in [*c["groups"], *([c["all"]] if c["all"] else [])]:
        t.add_row(
            x.get("version", "(all)"),
            num(x["sessions"]),
            num(x["crashes"]),
            pct(x["crash_free_sessions"]),
        )
    con.print(t)
    if r["crash_types"]:
        t = _table("Top crash types", "exception.type", "crashes", "sessions", "versions")
        for x in r["crash_types"]:
            t.add_row(x["type"], num(x["crashes"]), num(x["sessions"]), ", ".join(x["versions"]))
        con.print(t)
