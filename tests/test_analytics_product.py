"""The product answers (retention, feature adoption, upgrade lag, breakdowns, error rates) and
every older figure, checked against an independent Python computation over data with the edge
cases: installations first seen before the range, sessions across midnight, duplicate
deliveries, opt-outs mid-range, versions that sort numerically (1.10.0 after 1.9.0).

chDB runs in a spawned child (`Remote`), never in the pytest process.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from prodtel import Attr, Catalog, Event
from prodtel.analytics import product, report, synth
from prodtel.versions import version_key
from tests.test_analytics_ingest import Remote
from tests.test_analytics_report import R, approx, check, keyed, q, reference

APP = "edge"
DAY = synth.NS_PER_DAY
HOUR = 3600 * 10**9
HISTORY = dt.date(2026, 1, 19)  # data starts here, before every range below
START, END = dt.date(2026, 2, 2), dt.date(2026, 3, 1)  # 28 days: weekly periods
VERSIONS = ["1.9.0", "1.10.0", "1.11.0", "2.0.0"]  # released on these days from HISTORY:
RELEASED = [0, 12, 24, 34]
COMMANDS = ["run", "cloud", "inspect"]
CATALOG = Catalog(
    app=APP,
    events=[
        Event(
            "usage_report",
            "One per run.",
            attrs=[
                Attr("vus_max", int, "Max VUs."),
                Attr("iterations", int, "Iterations."),
                Attr("duration", float, "Seconds."),
                Attr("executor", str, "Scheduler.", enum=["shared-iterations", "constant-vus"]),
                Attr("note", str, "Free text: cannot be broken down."),
            ],
        ),
        Event("script_exported", "Export.", attrs=[Attr("format", str, "F.", enum=["js", "json"])]),
        Event("never_used", "A feature nobody uses.", attrs=[Attr("cloud", bool, "Cloud?")]),
    ],
    context=[Attr("is_ci", bool, "CI?")],
)


def _ts(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp()) * 10**9


def make_sessions(seed: int = 21) -> list[list[synth.Record]]:
    """Installations on the edge cases; every record's time is unique."""
    rng = random.Random(seed)
    out: list[list[synth.Record]] = []
    used: set[int] = set()
    for i in range(60):
        iid = f"edge-{i:03d}"
        first = rng.randrange(0, 44)  # some before START (day 14 from HISTORY)
        opt_out_day = first + rng.randrange(3, 30) if i % 7 == 3 else None
        os_type, arch = synth.PLATFORMS[i % 4]
        for off in range(first, 42):
            if off != first and rng.random() < 0.55:
                continue
            day = HISTORY + dt.timedelta(days=off)
            # Upgrades lag behind releases by a few days per installation.
            vi = max(k for k, r in enumerate(RELEASED) if r + (i % 5) <= off or k == 0)
            session = f"s-{i}-{off}"
            res = synth.resource(APP, VERSIONS[vi], iid, session, os_type, arch)
            # Every 4th session starts just before midnight and runs across it.
            t = _ts(day) + (DAY - 90 * 10**9 if i % 4 == 0 else rng.randrange(HOUR, 20 * HOUR))
            recs = []
            for k in range(rng.randrange(1, 5)):
                t += rng.randrange(10**9, 40 * 10**9)
                if rng.random() < 0.7:
                    ok = rng.random() > 0.15
                    cmd = {"command": COMMANDS[(i + k) % 3] if i % 9 else "run",
                           "duration_ms": float(rng.randrange(5, 900)),
                           "outcome": "ok" if ok else "error", "is_ci": i % 2 == 0}  # fmt: skip
                    recs.append(synth.Record(t, res, "command", cmd))
                else:
                    fmt = "js" if rng.random() < 0.7 else "json"
                    recs.append(synth.Record(t, res, "script_exported", {"format": fmt}))
            attrs: dict[str, Any] = {"duration": round(rng.uniform(1, 99), 3)}
            if i % 6:  # some old clients send no executor / numbers
                executor = rng.choice(["shared-iterations", "constant-vus"])
                attrs |= {"vus_max": rng.randrange(1, 40),
                          "iterations": 10 * rng.randrange(1, 9), "executor": executor}  # fmt: skip
            t += 10**6
            recs.append(synth.Record(t, res, "usage_report", attrs))
            if rng.random() < 0.12:
                crash = {"exception.type": "RuntimeError", "exception.handled": rng.random() < 0.4}
                recs.append(synth.Record(t + 1, res, "exception", crash))
            if opt_out_day is not None and off >= opt_out_day:
                recs.append(synth.Record(t + 2, res, "TelemetryDisabled", {"source": "command"}))
                out.append(recs)
                break
            out.append(recs)
    for s in out:
        for r in s:
            while r.ts_ns in used:
                r.ts_ns += 1
            used.add(r.ts_ns)
            r.uid = f"{rng.getrandbits(96):024x}"
    return out


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[R]]]:
    d = tmp_path_factory.mktemp("edge")
    sessions = make_sessions()
    synth.write_jsonl(sessions, d / "out-2026-03-01T00-00-00.000.jsonl")
    # Duplicate deliveries: every 5th session is delivered again, in the active file.
    synth.write_jsonl(sessions[::5], d / "out.jsonl", per_line=2)
    with Remote(d / "db") as db:
        r = db.ingest([d / "out.jsonl"])
    unique = [x for s in sessions for x in s]
    assert r.duplicates == sum(len(s) for s in sessions[::5]) and r.inserted == len(unique)
    yield d / "db", [R(x.ts_ns, x.resource, x.event, x.attrs) for x in unique]


# -- the independent computation ----------------------------------------------------------------
def _as_map_value(v: Any) -> str:
    """How the exporter stores an attribute value in the Map(String, String) column."""
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def expected(
    recs: list[R], start: dt.date, end: dt.date, pairs: tuple[list[Any], list[Any]]
) -> dict[str, Any]:
    iid = "app.installation.id"
    mine = [x for x in recs if x.r("service.name") == APP and x.day <= end]
    rng = [x for x in mine if x.day >= start]
    ided = [x for x in rng if x.r(iid)]
    period = 1 if (end - start).days + 1 <= 14 else 7
    n = (end - start).days // period + 1

    def pidx(d: dt.date) -> int:
        return (d - start).days // period

    first: dict[str, dt.date] = {}
    for x in mine:
        if x.r(iid):
            first[x.r(iid)] = min(first.get(x.r(iid), x.day), x.day)
    seen_in: dict[str, set[int]] = defaultdict(set)
    for x in ided:
        seen_in[x.r(iid)].add(pidx(x.day))
    cohorts: dict[int, list[str]] = defaultdict(list)
    for i, f in first.items():
        if f >= start:
            cohorts[pidx(f)].append(i)
    retention = []
    for c in sorted(cohorts):
        members = cohorts[c]
        active = [sum(c + k in seen_in[i] for i in members) for k in range(n - c)]
        retention.append(
            {
                "cohort": (start + dt.timedelta(days=c * period)).isoformat(),
                "installations": len(members),
                "active": active,
                "rates": [a / len(members) for a in active],
            }
        )

    users: dict[tuple[str, str], set[str]] = defaultdict(set)
    per: dict[tuple[str, str], list[set[str]]] = defaultdict(lambda: [set() for _ in range(n)])
    for x in ided:
        feats = [("event", x.event)]
        if x.event == "command":
            feats.append(("command", str(x.attrs.get("command", ""))))
        for f in feats:
            users[f].add(x.r(iid))
            per[f][pidx(x.day)].add(x.r(iid))
    active_per = [set() for _ in range(n)]  # type: list[set[str]]
    for x in ided:
        active_per[pidx(x.day)].add(x.r(iid))
    total = len({x.r(iid) for x in ided})
    for e in CATALOG.events:
        users.setdefault(("event", e), set())
    features = {
        f: {
            "kind": f[0],
            "name": f[1],
            "declared": f[0] == "event" and f[1] in CATALOG.events,
            "installations": len(u),
            "share": len(u) / total if total else 0.0,
            "trend": [
                len(per[f][k]) / len(active_per[k]) if active_per[k] else None for k in range(n)
            ],
        }
        for f, u in users.items()
    }

    on: dict[tuple[dt.date, str], set[str]] = defaultdict(set)
    dau: dict[dt.date, set[str]] = defaultdict(set)
    for x in mine:
        if x.r(iid):
            on[(x.day, x.r("service.version"))].add(x.r(iid))
            dau[x.day].add(x.r(iid))
    lag = {}
    for v in {k[1] for k in on}:
        days = sorted(d for d, vv in on if vv == v)
        share = {d: len(on[(d, v)]) / len(dau[d]) for d in days}
        d50 = [d for d in days if share[d] >= 0.5]
        d90 = [d for d in days if share[d] >= 0.9]
        lag[v] = {
            "version": v,
            "first_seen": days[0].isoformat(),
            "last_seen": days[-1].isoformat(),
            "days_to_50": (d50[0] - days[0]).days if d50 else None,
            "days_to_90": (d90[0] - days[0]).days if d90 else None,
            "peak_share": max(share.values()),
        }
    order = sorted(lag, key=version_key, reverse=True)
    last: dict[str, R] = {}
    for x in ided:
        if x.r(iid) not in last or x.ts > last[x.r(iid)].ts:
            last[x.r(iid)] = x
    behind: dict[int, int] = defaultdict(int)
    for x in last.values():
        behind[order.index(x.r("service.version"))] += 1

    categorical, numeric = pairs
    cats = {}
    for e, a in categorical:
        xs = [x for x in rng if x.event == e]
        vals: dict[str, list[R]] = defaultdict(list)
        for x in xs:
            vals[_as_map_value(x.attrs[a]) if a in x.attrs else ""].append(x)
        cats[(e, a)] = {
            v: {
                "value": v,
                "count": len(ys),
                "installations": len({y.r(iid) for y in ys if y.r(iid)}),
                "share": len(ys) / len(xs),
            }
            for v, ys in vals.items()
        }
    nums = {}
    for e, a in numeric:
        xs = [x for x in rng if x.event == e and a in x.attrs]
        by_v: dict[str, list[float]] = defaultdict(list)
        for x in xs:
            by_v[x.r("service.version")].append(float(x.attrs[a]))
        every = [float(x.attrs[a]) for x in xs]
        nums[(e, a)] = {
            "all": {"n": len(every), "p50": q(every, 0.5), "p95": q(every, 0.95)} if xs else None,
            "versions": {
                v: {"version": v, "n": len(vs), "p50": q(vs, 0.5), "p95": q(vs, 0.95)}
                for v, vs in by_v.items()
            },
        }

    cmds = [x for x in rng if x.event == "command"]

    def rate(xs: list[R]) -> dict[str, Any]:
        errs = sum(x.attrs.get("outcome") == "error" for x in xs)
        return {"runs": len(xs), "errors": errs, "error_rate": errs / len(xs)}

    def group(key: Any) -> dict[Any, list[R]]:
        g: dict[Any, list[R]] = defaultdict(list)
        for x in cmds:
            g[key(x)].append(x)
        return g

    sessions_of: dict[str, set[str]] = defaultdict(set)
    crashed_of: dict[str, set[str]] = defaultdict(set)
    for x in rng:
        if x.r("session.id"):
            sessions_of[x.r("service.version")].add(x.r("session.id"))
            if x.crash:
                crashed_of[x.r("service.version")].add(x.r("session.id"))
    errors = {
        "commands": {
            c: {"command": c, **rate(xs)}
            for c, xs in group(lambda x: str(x.attrs["command"])).items()
        },
        "versions": {
            v: {
                "version": v,
                **rate(xs),
                "sessions": len(sessions_of[v]),
                "crash_free_sessions": 1 - len(crashed_of[v]) / len(sessions_of[v]),
            }
            for v, xs in group(lambda x: x.r("service.version")).items()
        },
        "groups": {
            k: {"command": k[0], "version": k[1], **rate(xs)}
            for k, xs in group(lambda x: (str(x.attrs["command"]), x.r("service.version"))).items()
        },
    }
    return {
        "period": period,
        "n": n,
        "retention": retention,
        "features": features,
        "lag": lag,
        "newest": order[0],
        "behind": [{"releases": k, "installations": behind[k]} for k in sorted(behind)],
        "categories": cats,
        "numbers": nums,
        "errors": errors,
    }


def check_product(got: dict[str, Any], want: dict[str, Any]) -> None:
    ret = got["retention"]
    assert ret["period_days"] == want["period"] and len(ret["periods"]) == want["n"]
    assert ret["cohorts"] == [approx(c) for c in want["retention"]]
    ad = got["adoption"]
    assert ad["catalog"] is True
    assert keyed(ad["features"], "kind", "name") == {
        k: approx(v) for k, v in want["features"].items()
    }
    shares = [f["installations"] for f in ad["features"]]
    assert shares == sorted(shares, reverse=True)
    lag = got["upgrade_lag"]
    assert keyed(lag["versions"], "version") == {k: approx(v) for k, v in want["lag"].items()}
    assert [v["version"] for v in lag["versions"]] == sorted(want["lag"], key=version_key)[::-1]
    assert lag["newest"] == want["newest"] and lag["behind"] == want["behind"]
    bd = got["breakdowns"]
    cats = {(c["event"], c["attribute"]): keyed(c["values"], "value") for c in bd["categories"]}
    assert cats == {
        k: {v: approx(x) for v, x in vs.items()} for k, vs in want["categories"].items()
    }
    nums = {
        (n["event"], n["attribute"]): {"all": n["all"], "versions": keyed(n["versions"], "version")}
        for n in bd["numbers"]
    }
    assert nums == {
        k: {"all": approx(v["all"]) if v["all"] else None,
            "versions": {g: approx(x) for g, x in v["versions"].items()}}
        for k, v in want["numbers"].items()
    }  # fmt: skip
    er, we = got["error_rates"], want["errors"]
    assert keyed(er["commands"], "command") == {k: approx(v) for k, v in we["commands"].items()}
    assert keyed(er["versions"], "version") == {k: approx(v) for k, v in we["versions"].items()}
    assert keyed(er["groups"], "command", "version") == {
        k: approx(v) for k, v in we["groups"].items()
    }


# -- tests -----------------------------------------------------------------------------------------
def test_the_data_has_the_edge_cases(edge: tuple[Path, list[R]]) -> None:
    _, recs = edge
    iid = "app.installation.id"
    first = {}
    for x in sorted(recs, key=lambda x: x.ts):
        first.setdefault(x.r(iid), x.day)
    assert sum(d < START for d in first.values()) >= 10  # first seen before the range
    assert sum(START <= d <= END for d in first.values()) >= 10
    days_of: dict[str, set[dt.date]] = defaultdict(set)
    for x in recs:
        days_of[x.r("session.id")].add(x.day)
    assert sum(len(d) == 2 for d in days_of.values()) >= 10  # sessions across midnight
    outs = [x for x in recs if x.event == "TelemetryDisabled" and START <= x.day <= END]
    assert len(outs) >= 3  # opt-outs mid-range
    versions = {x.r("service.version") for x in recs}
    assert {"1.9.0", "1.10.0"} <= versions


@pytest.mark.parametrize(
    ("start", "end"),
    [(START, END), (dt.date(2026, 2, 9), dt.date(2026, 2, 20)), (HISTORY, END)],
    ids=["weekly", "daily", "from-the-first-record"],
)
def test_every_figure_matches_python(
    edge: tuple[Path, list[R]], start: dt.date, end: dt.date
) -> None:
    folder, recs = edge
    with Remote(folder) as db:
        got = db.build(app=APP, start=start, end=end, catalog=CATALOG)
    check(got, reference(recs, APP, start, end, "usage_report", "duration"))
    pairs = product.declared_pairs(CATALOG, None)
    check_product(got, expected(recs, start, end, pairs))
    # The figures are about something.
    assert got["retention"]["cohorts"] and got["error_rates"]["groups"]
    assert any(v["days_to_50"] is not None for v in got["upgrade_lag"]["versions"])


def test_chosen_breakdowns_and_their_checks(edge: tuple[Path, list[R]]) -> None:
    folder, recs = edge
    chosen = ["command:is_ci", "usage_report:vus_max", "command:duration_ms"]
    with Remote(folder) as db:
        got = db.build(app=APP, start=START, end=END, catalog=CATALOG, breakdowns=chosen)
        for bad, why in [
            (["usage_report:note"], "free-form string"),
            (["usage_report:nope"], "declares no attribute 'nope'"),
            (["nope:x"], "want EVENT:ATTRIBUTE"),
        ]:
            with pytest.raises(report.ReportError, match=why):
                db.build(app=APP, catalog=CATALOG, breakdowns=bad)
        with pytest.raises(report.ReportError, match="need the app's catalog"):
            db.build(app=APP, breakdowns=["command:outcome"])
        bare = db.build(app=APP, start=START, end=END)
    pairs = ([("command", "is_ci")], [("usage_report", "vus_max"), ("command", "duration_ms")])
    assert product.declared_pairs(CATALOG, chosen) == pairs
    check_product(got, expected(recs, START, END, pairs))
    # Without a catalog: no breakdowns, and only features that were used are listed.
    assert bare["breakdowns"] == {"categories": [], "numbers": []}
    assert bare["adoption"]["catalog"] is False
    assert "never_used" not in {f["name"] for f in bare["adoption"]["features"]}
    assert bare["retention"] == got["retention"] and bare["error_rates"] == got["error_rates"]


def test_default_pairs_come_from_the_catalog() -> None:
    categorical, numeric = product.declared_pairs(CATALOG, None)
    assert ("usage_report", "executor") in categorical and ("command", "outcome") in categorical
    assert ("never_used", "cloud") in categorical and (
        "exception",
        "exception.handled",
    ) in categorical
    assert ("usage_report", "note") not in categorical
    assert numeric == [("usage_report", "vus_max"), ("usage_report", "iterations"),
                       ("usage_report", "duration")]  # fmt: skip
