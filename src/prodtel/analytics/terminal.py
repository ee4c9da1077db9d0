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
    render_product(r, con)


def render_product(r: dict[str, Any], con: Console) -> None:
    """Retention, feature adoption, upgrade lag, error rates and breakdowns."""
    ret = r["retention"]
    unit = "day" if ret["period_days"] == 1 else "week"
    n = max((len(c["rates"]) for c in ret["cohorts"]), default=1)
    t = _table(f"Retention by {unit} of first sighting", "cohort", "new",
               *(f"{unit} {k}" for k in range(n)))  # fmt: skip
    for c in ret["cohorts"]:
        t.add_row(c["cohort"], num(c["installations"]), *map(pct, c["rates"]))
    con.print(t)

    ad = r["adoption"]
    periods = [f"{unit} of {p[5:]}" for p in ad["periods"]]
    t = _table(f"Feature adoption (of {ad['installations']:,} active installations)", "kind",
               "name", "installations", "share", *periods)  # fmt: skip
    for f in ad["features"]:
        t.add_row(f["kind"], f["name"], num(f["installations"]), pct(f["share"]),
                  *map(pct, f["trend"]))  # fmt: skip
    con.print(t)

    lag = r["upgrade_lag"]
    t = _table("Upgrade lag (days from first sighting to a share of daily actives)", "version",
               "first seen", "to 50%", "to 90%", "peak share")  # fmt: skip
    for v in lag["versions"]:
        t.add_row(v["version"], v["first_seen"], num(v["days_to_50"]), num(v["days_to_90"]),
                  pct(v["peak_share"]))  # fmt: skip
    con.print(t)
    t = _table(f"Installations by releases behind {lag['newest']}", "releases", "installations")
    for b in lag["behind"]:
        t.add_row(num(b["releases"]), num(b["installations"]))
    con.print(t)

    er = r["error_rates"]
    t = _table("Error rate per command", "command", "runs", "errors", "error rate")
    for c in er["commands"]:
        t.add_row(c["command"], num(c["runs"]), num(c["errors"]), pct(c["error_rate"]))
    con.print(t)
    t = _table("Error rate and crash-free sessions per version", "version", "runs", "errors",
               "error rate", "crash-free sessions")  # fmt: skip
    for v in er["versions"]:
        t.add_row(v["version"], num(v["runs"]), num(v["errors"]), pct(v["error_rate"]),
                  pct(v["crash_free_sessions"]))  # fmt: skip
    con.print(t)

    bd = r["breakdowns"]
    for c in bd["categories"]:
        t = _table(f"{c['event']} by {c['attribute']}", "value", "records", "share",
                   "installations")  # fmt: skip
        for v in c["values"]:
            t.add_row(v["value"] or "(not set)", num(v["count"]), pct(v["share"]),
                      num(v["installations"]))  # fmt: skip
        con.print(t)
    for x in bd["numbers"]:
        t = _table(f"{x['event']}.{x['attribute']} per version", "version", "values", "p50",
                   "p95")  # fmt: skip
        for v in [*x["versions"], *([x["all"]] if x["all"] else [])]:
            t.add_row(v.get("version", "(all)"), num(v["n"]), num(v["p50"], 2), num(v["p95"], 2))
        con.print(t)
