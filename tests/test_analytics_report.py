"""Every report figure, checked against the same figure computed independently in Python.

`reference()` is a plain-Python implementation of each definition in docs/analytics.md;
`check()` compares a report with it. The data is generated here (synthetic installations,
several apps, crashes, opt-outs) and, in the last test, sent for real: SDK -> collector -> file
exporter -> ingest -> report.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from prodtel import Attr, Catalog, Event
from prodtel.analytics import report, synth
from prodtel.testing import TestHooks
from tests.support.collector import Collector
from tests.support.collector import pipeline as pipeline_collector
from tests.test_analytics_ingest import Remote

DAY = synth.NS_PER_DAY
UTC = dt.UTC
CATALOG = Catalog(
    app="shopcli",
    events=[
        Event(
            "usage_report",
            "One per run.",
            since="0.1.0",
            attrs=[Attr("duration", float, "Run time in seconds.")],
        ),
    ],
)


@dataclass
class R:
    """A record as the report sees it."""

    ts: int
    res: dict[str, str]
    event: str
    attrs: dict[str, Any]

    @property
    def day(self) -> dt.date:
        return dt.datetime.fromtimestamp(self.ts // 10**9, UTC).date()

    def r(self, key: str) -> str:
        return self.res.get(key, "")

    @property
    def crash(self) -> bool:
        return self.event == "exception" and self.attrs.get("exception.handled") is False


def from_synth(sessions: Iterable[list[synth.Record]]) -> list[R]:
    return [R(x.ts_ns, x.resource, x.event, x.attrs) for s in sessions for x in s]


def q(values: list[float], p: float) -> float | None:
    """quantileExactInclusive: linear interpolation between closest ranks (R7)."""
    if not values:
        return None
    v = sorted(values)
    h = (len(v) - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (h - lo) * (v[hi] - v[lo])


def days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def reference(
    recs: list[R], app: str, start: dt.date, end: dt.date, run_event: str, run_attr: str
) -> dict[str, Any]:
    mine = [x for x in recs if x.r("service.name") == app]
    rng = [x for x in mine if start <= x.day <= end]
    ided = [x for x in rng if x.r("app.installation.id")]
    iid = "app.installation.id"
    out: dict[str, Any] = {}

    installs = {x.r(iid) for x in ided}
    sessions = {x.r("session.id") for x in rng if x.r("session.id")}
    opted = {x.r(iid) for x in ided if x.event == "TelemetryDisabled"}
    crashed = {x.r("session.id") for x in rng if x.crash and x.r("session.id")}
    out["summary"] = {
        "events": len(rng),
        "installations": len(installs),
        "sessions": len(sessions),
        "opted_out": len(opted),
        "opt_out_rate": len(opted) / len(installs) if installs else 0,
        "crashes": sum(x.crash for x in rng),
        "handled_errors": sum(
            x.event == "exception" and x.attrs.get("exception.handled") is True for x in rng
        ),
        "crashed_sessions": len(crashed),
        "crash_free_sessions": 1 - len(crashed) / len(sessions) if sessions else 1,
    }

    first: dict[str, dt.date] = {}
    for x in mine:
        if x.r(iid) and x.day <= end:
            first[x.r(iid)] = min(first.get(x.r(iid), x.day), x.day)
    out["new_installations"] = [
        {"day": d.isoformat(), "installations": sum(f == d for f in first.values())}
        for d in days(start, end)
    ]

    seen: dict[dt.date, set[str]] = defaultdict(set)
    for x in mine:
        if x.r(iid):
            seen[x.day].add(x.r(iid))

    def window(d: dt.date, n: int) -> int:
        return len(set().union(*(seen[d - dt.timedelta(days=k)] for k in range(n))))

    out["active"] = [
        {"day": d.isoformat(), "dau": window(d, 1), "wau": window(d, 7), "mau": window(d, 30)}
        for d in days(start, end)
    ]

    for key, attr in (
        ("by_version", "service.version"),
        ("by_os", "os.type"),
        ("by_arch", "host.arch"),
    ):
        groups: dict[str, list[R]] = defaultdict(list)
        for x in ided:
            groups[x.r(attr)].append(x)
        name = {"by_version": "version", "by_os": "os", "by_arch": "arch"}[key]
        out[key] = {
            g: {
                name: g,
                "installations": len({x.r(iid) for x in xs}),
                "sessions": len({x.r("session.id") for x in xs}),
                "events": len(xs),
            }
            for g, xs in groups.items()
        }
    oa: dict[tuple[str, str], set[str]] = defaultdict(set)
    for x in ided:
        oa[(x.r("os.type"), x.r("host.arch"))].add(x.r(iid))
    out["os_arch"] = {k: {"os": k[0], "arch": k[1], "installations": len(v)} for k, v in oa.items()}
    va: dict[tuple[str, str], set[str]] = defaultdict(set)
    for x in ided:
        va[(x.day.isoformat(), x.r("service.version"))].add(x.r(iid))
    out["version_adoption"] = {
        k: {"day": k[0], "version": k[1], "installations": len(v)} for k, v in va.items()
    }
    ev: dict[tuple[str, str], list[R]] = defaultdict(list)
    for x in rng:
        ev[(x.event, x.r("service.version"))].append(x)
    out["events"] = {
        k: {
            "event": k[0],
            "version": k[1],
            "count": len(xs),
            "installations": len({x.r(iid) for x in xs if x.r(iid)}),
        }
        for k, xs in ev.items()
    }
    out["opt_outs"] = []
    for d in days(start, end):
        on_day = [x for x in ided if x.day == d]
        active = len({x.r(iid) for x in on_day})
        n = len({x.r(iid) for x in on_day if x.event == "TelemetryDisabled"})
        out["opt_outs"].append(
            {
                "day": d.isoformat(),
                "opt_outs": n,
                "active": active,
                "rate": n / active if active else 0,
            }
        )

    cmds = [x for x in rng if x.event == "command"]

    def cmd_row(xs: list[R]) -> dict[str, Any]:
        durs = [float(x.attrs["duration_ms"]) for x in xs if "duration_ms" in x.attrs]
        return {
            "runs": len(xs),
            "errors": sum(x.attrs.get("outcome") == "error" for x in xs),
            "p50_ms": q(durs, 0.5),
            "p95_ms": q(durs, 0.95),
        }

    by_cmd: dict[str, list[R]] = defaultdict(list)
    for x in cmds:
        by_cmd[str(x.attrs.get("command", ""))].append(x)
    out["commands"] = {
        "all": cmd_row(cmds) if cmds else None,
        "groups": {c: {"command": c, **cmd_row(xs)} for c, xs in by_cmd.items()},
    }

    runs = [x for x in rng if x.event == run_event and run_attr in x.attrs]

    def run_row(xs: list[R]) -> dict[str, Any]:
        vals = [float(x.attrs[run_attr]) for x in xs]
        return {"runs": len(xs), "p50": q(vals, 0.5), "p95": q(vals, 0.95)}

    by_ver: dict[str, list[R]] = defaultdict(list)
    for x in runs:
        by_ver[x.r("service.version")].append(x)
    out["runs"] = {
        "event": run_event,
        "attribute": run_attr,
        "all": run_row(runs) if runs else None,
        "groups": {v: {"version": v, **run_row(xs)} for v, xs in by_ver.items()},
    }

    with_session = [x for x in rng if x.r("session.id")]

    def crash_row(xs: list[R]) -> dict[str, Any]:
        s = {x.r("session.id") for x in xs}
        c = {x.r("session.id") for x in xs if x.crash}
        return {
            "sessions": len(s),
            "crashed_sessions": len(c),
            "crashes": sum(x.crash for x in xs),
            "handled_errors": sum(
                x.event == "exception" and x.attrs.get("exception.handled") is True for x in xs
            ),
            "crash_free_sessions": 1 - len(c) / len(s) if s else 1,
        }

    cv: dict[str, list[R]] = defaultdict(list)
    for x in with_session:
        cv[x.r("service.version")].append(x)
    out["crashes"] = {
        "all": crash_row(with_session) if with_session else None,
        "groups": {v: {"version": v, **crash_row(xs)} for v, xs in cv.items()},
    }
    ct: dict[str, list[R]] = defaultdict(list)
    for x in rng:
        if x.crash:
            ct[str(x.attrs.get("exception.type", ""))].append(x)
    out["crash_types"] = {
        t: {
            "type": t,
            "crashes": len(xs),
            "sessions": len({x.r("session.id") for x in xs if x.r("session.id")}),
            "installations": len({x.r(iid) for x in xs if x.r(iid)}),
            "versions": sorted({x.r("service.version") for x in xs}),
        }
        for t, xs in ct.items()
    }
    return out


def approx(v: Any) -> Any:
    if isinstance(v, float):
        return pytest.approx(v, rel=1e-9, abs=1e-12)
    if isinstance(v, dict):
        return {k: approx(x) for k, x in v.items()}
    return v


def keyed(rows: list[dict[str, Any]], *keys: str) -> dict[Any, dict[str, Any]]:
    out = {(r[keys[0]] if len(keys) == 1 else tuple(r[k] for k in keys)): r for r in rows}
    assert len(out) == len(rows), "duplicate group rows"
    return out


def check(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got["summary"] == approx(want["summary"])
    assert got["new_installations"] == want["new_installations"]
    assert got["active"] == want["active"]
    for key, k in (("by_version", "version"), ("by_os", "os"), ("by_arch", "arch")):
        assert keyed(got[key], k) == want[key], key
    assert keyed(got["os_arch"], "os", "arch") == want["os_arch"]
    assert keyed(got["version_adoption"], "day", "version") == want["version_adoption"]
    assert keyed(got["events"], "event", "version") == want["events"]
    assert got["opt_outs"] == [approx(x) for x in want["opt_outs"]]
    for key, k in (("commands", "command"), ("runs", "version"), ("crashes", "version")):
        w = want[key]
        assert got[key]["all"] == (approx(w["all"]) if w["all"] else None), key
        assert keyed(got[key]["groups"], k) == {g: approx(v) for g, v in w["groups"].items()}
    assert got["runs"]["event"] == want["runs"]["event"]
    assert keyed(got["crash_types"], "type") == want["crash_types"]


# -- synthetic data ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[R]]]:
    """Two apps, 25 days, rotated output files; ingested once for the module."""
    d = tmp_path_factory.mktemp("synth")
    main = list(synth.sessions(app="loadgen", installations=150, days=25, seed=3))
    other = list(synth.sessions(app="other", installations=20, days=25, seed=4))
    half = len(main) // 2
    synth.write_jsonl(main[:half], d / "out-2026-01-10T00-00-00.000.jsonl")
    synth.write_jsonl(main[half:] + other, d / "out.jsonl", per_line=3)
    with Remote(d / "db") as db:
        r = db.ingest([d / "out.jsonl"])
        assert len(r.files) == 2 and r.duplicates == 0
    yield d / "db", from_synth(main + other)


def test_every_figure_matches_python_over_the_whole_range(dataset: tuple[Path, list[R]]) -> None:
    folder, recs = dataset
    with Remote(folder) as db:
        got = db.build(app="loadgen", days=40)
    end = max(x.day for x in recs if x.r("service.name") == "loadgen")
    assert got["end"] == end.isoformat()
    assert got["start"] == (end - dt.timedelta(days=39)).isoformat()
    want = reference(recs, "loadgen", end - dt.timedelta(days=39), end, "usage_report", "duration")
    check(got, want)
    # The data really has what the figures are about.
    s = got["summary"]
    assert s["installations"] == 150 and s["crashes"] > 0 and s["opted_out"] >= 0
    assert got["commands"]["all"]["runs"] > 100


def test_a_sub_range_counts_earlier_installations_as_not_new(
    dataset: tuple[Path, list[R]],
) -> None:
    folder, recs = dataset
    start, end = dt.date(2026, 1, 8), dt.date(2026, 1, 15)
    with Remote(folder) as db:
        got = db.build(app="loadgen", start=start, end=end)
    check(got, reference(recs, "loadgen", start, end, "usage_report", "duration"))
    new = sum(x["installations"] for x in got["new_installations"])
    assert 0 < new < got["summary"]["installations"]


def test_the_other_app_and_a_custom_run_event(dataset: tuple[Path, list[R]]) -> None:
    folder, recs = dataset
    start, end = dt.date(2026, 1, 1), dt.date(2026, 1, 25)
    with Remote(folder) as db:
        got = db.build(
            app="other", start=start, end=end, run_event="command", run_attr="duration_ms"
        )
    check(got, reference(recs, "other", start, end, "command", "duration_ms"))
    assert got["summary"]["installations"] == 20


def test_app_must_be_named_when_several_have_data(dataset: tuple[Path, list[R]]) -> None:
    folder, _ = dataset
    with Remote(folder) as db:
        with pytest.raises(report.ReportError, match="loadgen, other"):
            db.build()
        with pytest.raises(report.ReportError, match="no data for app 'nope'"):
            db.build(app="nope")


# -- a small case worked out by hand -------------------------------------------------------------
def test_hand_worked_figures(tmp_path: Path) -> None:
    d0 = 1_767_225_600 * 10**9  # 2026-01-01

    def res(iid: str, version: str, session: str, os_type: str = "linux") -> dict[str, str]:
        return synth.resource("app", version, iid, session, os_type, "amd64")

    def cmd(ms: float) -> dict[str, Any]:
        return {"command": "run", "duration_ms": ms, "outcome": "ok"}

    crash = {"exception.type": "KeyError", "exception.handled": False}
    a1, a2 = res("A", "1.9.0", "sa1"), res("A", "1.10.0", "sa2")
    b1 = res("B", "1.9.0", "sb1", "darwin")
    c1 = res("C", "1.10.0", "sc1", "windows")
    sessions = [
        [synth.Record(d0, a1, "command", cmd(10.0)), synth.Record(d0 + 1, a1, "exception", crash)],
        [synth.Record(d0 + 5, b1, "command", cmd(20.0))],
        [synth.Record(d0 + DAY, a2, "command", cmd(30.0))],
        [
            synth.Record(d0 + 8 * DAY, c1, "command", cmd(40.0)),
            synth.Record(d0 + 8 * DAY + 1, c1, "TelemetryDisabled", {"source": "command"}),
        ],
    ]
    synth.write_jsonl(sessions, tmp_path / "out.jsonl", per_line=2)
    with Remote(tmp_path / "db") as db:
        db.ingest([tmp_path / "out.jsonl"])
        got = db.build(start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 9))
    s = got["summary"]
    assert (s["installations"], s["sessions"], s["opted_out"]) == (3, 4, 1)
    assert s["opt_out_rate"] == pytest.approx(1 / 3)
    assert (s["crashes"], s["crash_free_sessions"]) == (1, 0.75)
    active = {x["day"]: (x["dau"], x["wau"], x["mau"]) for x in got["active"]}
    assert active["2026-01-01"] == (2, 2, 2)
    assert active["2026-01-02"] == (1, 2, 2)
    assert active["2026-01-08"] == (0, 1, 2)  # A on the 2nd is still in the 7-day window
    assert active["2026-01-09"] == (1, 1, 3)
    new = {x["day"]: x["installations"] for x in got["new_installations"] if x["installations"]}
    assert new == {"2026-01-01": 2, "2026-01-09": 1}
    # Versions sort numerically, newest first: 1.10.0 before 1.9.0.
    assert [x["version"] for x in got["by_version"]] == ["1.10.0", "1.9.0"]
    assert [x["installations"] for x in got["by_version"]] == [2, 2]
    cmds = got["commands"]
    assert cmds["all"] == {"runs": 4, "errors": 0, "p50_ms": 25.0, "p95_ms": pytest.approx(38.5)}
    crashes = {x["version"]: x for x in got["crashes"]["groups"]}
    assert crashes["1.9.0"]["crash_free_sessions"] == 0.5
    assert crashes["1.10.0"]["crash_free_sessions"] == 1.0
    assert got["crash_types"] == [
        {"type": "KeyError", "crashes": 1, "sessions": 1, "installations": 1, "versions": ["1.9.0"]}
    ]
    assert got["opt_outs"][8] == {"day": "2026-01-09", "opt_outs": 1, "active": 1, "rate": 1.0}
    assert got["runs"]["all"] is None and got["runs"]["groups"] == []


# -- the real path: SDK -> collector -> file exporter -> ingest -> report ------------------------
@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[Collector]:
    """The real collector running the pipeline `prodtel collector-config` generates for the
    test's catalog (filter, redaction, routing: exception records go to errors.jsonl)."""
    from prodtel.collector_config import generate

    workdir = tmp_path / "collector"
    with pipeline_collector(workdir, generate(CATALOG), workdir / "data") as c:
        yield c


def test_real_path_figures(pipeline: Collector, tmp_path: Path, monkeypatch: Any) -> None:
    import prodtel

    catalog = CATALOG

    monkeypatch.setenv("SHOPCLI_TELEMETRY", "all")  # no first-run wait in a test
    day0 = dt.date(2026, 3, 1)
    t0 = int(dt.datetime.combine(day0, dt.time(), UTC).timestamp()) * 10**9
    # (installation, day offset, version, what happens)
    plan = [
        ("i-1", 0, "1.0.0", "ok"),
        ("i-2", 0, "1.0.0", "crash"),
        ("i-3", 1, "1.0.0", "ok"),
        ("i-1", 2, "1.1.0", "error"),
        ("i-2", 3, "1.1.0", "ok"),
        ("i-4", 3, "1.1.0", "crash"),
        ("i-3", 9, "1.1.0", "disable"),
        ("i-5", 9, "1.1.0", "ok"),
        ("i-1", 10, "1.1.0", "ok"),
    ]
    sent = 0
    for n, (iid, off, version, what) in enumerate(plan):
        tick = iter(range(t0 + off * synth.NS_PER_DAY + n * 10**9, 10**30, 1000))
        t = prodtel.init(
            catalog,
            version=version,
            endpoint=pipeline.endpoint,
            config_dir=str(tmp_path / "cfg" / iid),
            test_hooks=TestHooks(installation_id=iid, clock=lambda tick=tick: next(tick)),
            exit_timeout=5.0,
        )
        assert t.status()["level"] == "all"
        for k in range(3):
            prodtel.track(
                "command", command=["run", "sync"][k % 2], duration_ms=10.0 * (n + k), outcome="ok"
            )
        prodtel.track("usage_report", duration=1.5 * (n + 1))
        sent += 4
        if what == "error":
            try:
                raise ValueError("handled")
            except ValueError:
                prodtel.capture_exception()
            sent += 1
        if what == "crash":
            try:
                raise RuntimeError("deliberate crash")
            except RuntimeError:
                sys.excepthook(*sys.exc_info())  # what the interpreter does with a crash
            sent += 1
        if what == "disable":
            t.disable(source="command")
            sent += 1
        prodtel.shutdown(5.0)
    monkeypatch.delenv("SHOPCLI_TELEMETRY")
    from prodtel import crash

    crash.uninstall()  # init() hooked sys.excepthook; leave the interpreter as it was

    data = pipeline.workdir / "data"
    deadline = time.monotonic() + 20
    while True:
        raw = [
            x for f in ("analytics", "errors") for x in pipeline.log_records(data / f"{f}.jsonl")
        ]
        if len(raw) >= sent or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(raw) == sent
    # The pipeline routed exception records away from analytics: both files are needed.
    assert {x["event_name"] for x in pipeline.log_records(data / "errors.jsonl")} == {"exception"}
    recs = [
        R(int(x["record"]["timeUnixNano"]), x["resource"], x["event_name"], x["attributes"])
        for x in raw
    ]
    assert {x.event for x in recs} >= {"command", "usage_report", "exception", "TelemetryDisabled"}
    # Ingest twice (a retry): same figures.
    with Remote(tmp_path / "db") as db:
        first = db.ingest([data])
        assert first.inserted == sent and len(first.files) == 2
        again = db.ingest([data])
        assert again.inserted == 0
        got = db.build(app="shopcli", start=day0, end=day0 + dt.timedelta(days=10))
    check(
        got,
        reference(recs, "shopcli", day0, day0 + dt.timedelta(days=10), "usage_report", "duration"),
    )
    s = got["summary"]
    assert (s["installations"], s["sessions"], s["opted_out"], s["crashes"]) == (5, 9, 1, 2)
    assert s["handled_errors"] == 1
    assert s["crash_free_sessions"] == pytest.approx(7 / 9)
    assert [x["installations"] for x in got["new_installations"]][:4] == [2, 1, 0, 1]
    assert got["active"][10]["mau"] == 5 and got["active"][10]["wau"] == 3


def test_chdb_never_loaded_in_the_test_process() -> None:
    """Last in the module: everything above ran chDB in child processes."""
    assert "chdb" not in sys.modules
