"""The analytics commands as a user runs them, and the ClickHouse-server path.

No ClickHouse server can be installed here (Debian's clickhouse-server is 18.16, without the Map
and DateTime64 types otel_logs needs; PyPI has none). So the server path is checked with a small
loopback HTTP endpoint that runs each request on chDB, the ClickHouse engine itself: the report
goes through clickhouse-connect's real HTTP client (query parameters bound server-side as
`param_*`, Native format decoding) and must equal the embedded report. The endpoint skips what a
server adds around the SQL (auth, compression, applying HTTP settings).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from prodtel.analytics import product, report, synth

ROOT = Path(__file__).resolve().parents[1]
PRODTEL = Path(sys.executable).parent / "prodtel"
KEYS = {
    "format", "app", "start", "end", "backend", "summary", "new_installations", "active",
    "by_version", "by_os", "by_arch", "os_arch", "version_adoption", "events", "opt_outs",
    "commands", "runs", "crashes", "crash_types",
    "retention", "adoption", "upgrade_lag", "breakdowns", "error_rates",
}  # fmt: skip
CATALOG = f"{ROOT / 'examples/loadgen/telemetry_catalog.py'}:CATALOG"


def analytics(*args: str, prog: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    cmd = list(prog) or [sys.executable, "-m", "prodtel.analytics"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cli")
    synth.write_jsonl(synth.sessions(installations=80, days=12, seed=11), d / "out.jsonl")
    r = analytics("ingest", str(d / "out.jsonl"), "--db", str(d / "db"), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["inserted"] == out["records"] > 500 and out["duplicates"] == 0
    return d


def test_ingest_again_inserts_nothing(ingested: Path) -> None:
    r = analytics("ingest", str(ingested / "out.jsonl"), "--db", str(ingested / "db"))
    assert r.returncode == 0, r.stderr
    assert re.search(r"ingested 0 new records from 1 file\(s\)", r.stdout), r.stdout


def test_report_json_is_stable(ingested: Path) -> None:
    r = analytics("report", "--db", str(ingested / "db"), "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert set(rep) == KEYS
    assert rep["format"] == "prodtel.analytics.report/1"
    assert (rep["app"], rep["backend"]) == ("loadgen", "chdb")
    assert rep["end"] == "2026-01-12" and rep["start"] == "2025-12-14"
    assert set(rep["summary"]) == {
        "events", "installations", "sessions", "opted_out", "opt_out_rate", "crashes",
        "handled_errors", "crashed_sessions", "crash_free_sessions",
    }  # fmt: skip
    assert set(rep["active"][0]) == {"day", "dau", "wau", "mau"}
    assert set(rep["commands"]) == {"all", "groups"}
    assert set(rep["commands"]["all"]) == {"runs", "errors", "p50_ms", "p95_ms"}
    assert set(rep["runs"]) == {"event", "attribute", "all", "groups"}
    assert len(rep["active"]) == 30 and rep["summary"]["installations"] == 80
    assert set(rep["retention"]) == {"period_days", "periods", "cohorts"}
    assert set(rep["retention"]["cohorts"][0]) == {"cohort", "installations", "active", "rates"}
    assert set(rep["adoption"]) == {
        "period_days", "periods", "active", "installations", "catalog", "features",
    }  # fmt: skip
    assert set(rep["adoption"]["features"][0]) == {
        "kind", "name", "declared", "installations", "share", "trend",
    }  # fmt: skip
    assert set(rep["upgrade_lag"]) == {"newest", "versions", "behind"}
    assert set(rep["upgrade_lag"]["versions"][0]) == {
        "version", "first_seen", "last_seen", "days_to_50", "days_to_90", "peak_share",
    }  # fmt: skip
    assert set(rep["upgrade_lag"]["behind"][0]) == {"releases", "installations"}
    assert rep["breakdowns"] == {"categories": [], "numbers": []}  # no catalog given
    assert set(rep["error_rates"]) == {"commands", "versions", "groups"}
    assert set(rep["error_rates"]["versions"][0]) == {
        "version", "runs", "errors", "error_rate", "sessions", "crash_free_sessions",
    }  # fmt: skip


def test_report_with_the_catalog_breaks_down_declared_attributes(ingested: Path) -> None:
    r = analytics("report", "--db", str(ingested / "db"), "--json", "--catalog", CATALOG)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    cats = {(c["event"], c["attribute"]): c for c in rep["breakdowns"]["categories"]}
    assert {v["value"] for v in cats[("usage_report", "executor")]["values"]} == {
        "constant-vus", "shared-iterations",
    }  # fmt: skip
    assert set(cats[("usage_report", "executor")]["values"][0]) == {
        "value", "count", "installations", "share",
    }  # fmt: skip
    nums = {(n["event"], n["attribute"]): n for n in rep["breakdowns"]["numbers"]}
    assert set(nums[("usage_report", "vus_max")]) == {"event", "attribute", "all", "versions"}
    assert set(nums[("usage_report", "vus_max")]["all"]) == {"n", "p50", "p95"}
    assert rep["adoption"]["catalog"] is True
    r = analytics("report", "--db", str(ingested / "db"), "--catalog", CATALOG,
                  "--breakdown", "usage_report:duration_x")  # fmt: skip
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip() == (
        "prodtel analytics: error: --breakdown 'usage_report:duration_x': usage_report declares"
        " no attribute 'duration_x'"
    )


def test_report_in_the_terminal_and_as_a_page(ingested: Path) -> None:
    page = ingested / "report.html"
    r = analytics(
        "report", "--db", str(ingested / "db"), "--since", "2026-01-01", "--until",
        "2026-01-12", "--html", str(page), "--catalog", CATALOG,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    for heading in ("Summary", "Active installations per day", "Active installations by version",
                    "Command durations", "Crashes per version", "Retention by day",
                    "Feature adoption", "Upgrade lag", "Error rate per command",
                    "usage_report by executor"):  # fmt: skip
        assert heading in r.stdout
    assert "2026-01-01 .. 2026-01-12" in r.stdout
    html = page.read_text()
    assert html.count("<svg") == 10
    for title in ("DAU, WAU, MAU", "Version adoption", "OS / architecture", "Crash-free sessions",
                  "Retention: share of each cohort (new installations per day)", "Feature adoption",
                  "Upgrade lag", "releases their latest version is behind",
                  "Error rate per command", "Breakdowns"):  # fmt: skip
        assert title in html
    # Self-contained: nothing to fetch, no scripts.
    assert "<script" not in html and "<link" not in html and "@import" not in html
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert urls == {"http://www.w3.org/2000/svg"}  # the SVG namespace name, never fetched


def test_prodtel_cli_mounts_analytics(ingested: Path) -> None:
    a = analytics(
        "report", "--db", str(ingested / "db"), "--json", prog=(str(PRODTEL), "analytics")
    )
    b = analytics("report", "--db", str(ingested / "db"), "--json")
    assert a.returncode == 0, a.stderr
    assert json.loads(a.stdout) == json.loads(b.stdout)


def test_errors_are_one_clear_line(tmp_path: Path, ingested: Path) -> None:
    r = analytics("report", "--db", str(tmp_path / "missing"))
    assert r.returncode == 1
    assert r.stderr.strip() == (
        f"prodtel analytics: error: {tmp_path / 'missing'} does not exist:"
        " run `analytics ingest` first"
    )
    assert not (tmp_path / "missing").exists()
    (tmp_path / "empty").mkdir()
    r = analytics("report", "--db", str(tmp_path / "empty"))
    assert r.returncode == 1
    assert r.stderr.strip() == (
        "prodtel analytics: error: no otel_logs table here (run `analytics ingest` first)"
    )
    r = analytics("report", "--db", str(ingested / "db"), "--app", "nope")
    assert r.returncode == 1 and "no data for app 'nope'; apps with data: loadgen" in r.stderr
    r = analytics("ingest", str(tmp_path / "missing.jsonl"), "--db", str(tmp_path / "db"))
    assert r.returncode == 1 and "no such file" in r.stderr


def test_busy_folder_fails_with_the_holder(ingested: Path) -> None:
    hold = (
        "import sys, time\nfrom pathlib import Path\nfrom prodtel.analytics.backend import Chdb\n"
        "with Chdb(Path(sys.argv[1])):\n    print('holding', flush=True)\n    time.sleep(30)\n"
    )
    p = subprocess.Popen(
        [sys.executable, "-c", hold, str(ingested / "db")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert p.stdout is not None and p.stdout.readline().strip() == "holding"
        r = analytics("report", "--db", str(ingested / "db"), "--wait", "0.3")
        assert r.returncode == 1
        assert f"is in use by another prodtel analytics process (pid {p.pid})" in r.stderr
    finally:
        p.kill()
        p.wait()


SERVER = r"""
import json, re, sys, threading, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from chdb.session import Session

session, lock = Session(sys.argv[1]), threading.Lock()
seen = open(sys.argv[2], "a")

class Handler(BaseHTTPRequestHandler):
    def handle_query(self, body):
        qs = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(self.path).query))
        sql = "\n".join(x for x in (qs.pop("query", ""), body.decode()) if x)
        params = {k[6:]: v for k, v in qs.items() if k.startswith("param_")}
        fmt = qs.get("default_format", "TabSeparated")
        m = re.search(r"\bFORMAT\s+(\w+)\s*;?\s*$", sql, re.I)
        if m:
            fmt, sql = m.group(1), sql[: m.start()]
        seen.write(json.dumps({"sql": sql, "params": params, "format": fmt}) + "\n")
        seen.flush()
        try:
            with lock:
                data = session.query(sql, fmt, params=params or None).bytes()
            code, headers = 200, {"X-ClickHouse-Format": fmt, "X-ClickHouse-Timezone": "UTC"}
        except Exception as e:
            data, code, headers = str(e).encode(), 500, {"X-ClickHouse-Exception-Code": "1"}
        self.send_response(code)
        for k, v in {**headers, "Content-Length": str(len(data))}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.handle_query(b"")

    def do_POST(self):
        self.handle_query(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


@pytest.fixture
def chdb_over_http(ingested: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    log = tmp_path / "queries.jsonl"
    p = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(ingested / "db"), str(log)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert p.stdout is not None
        port = int(p.stdout.readline())
        yield f"http://default:@127.0.0.1:{port}/default", log
    finally:
        p.terminate()
        p.wait(10)


def test_clickhouse_server_path_gives_the_same_report(
    ingested: Path, chdb_over_http: tuple[str, Path]
) -> None:
    url, log = chdb_over_http
    r = analytics(
        "report", "--clickhouse", url, "--json", "--since", "2026-01-03", "--catalog", CATALOG
    )
    assert r.returncode == 0, r.stderr
    over_http = json.loads(r.stdout)
    queries = [json.loads(x) for x in log.read_text().splitlines()]
    # Every report file's SQL is sent as written; values travel as server-side parameters.
    sent = {x["sql"].strip() for x in queries}
    files = [*report.QUERIES, *product.QUERIES]
    assert {report.sql(n).strip() for n in [*files, "apps"]} <= sent
    report_queries = [x for x in queries if "{app:String}" in x["sql"]]
    assert len(report_queries) == len(files)
    pairs = [x["params"] for x in queries if x["sql"].strip() == report.sql("numeric").strip()]
    # Arrays travel as ClickHouse literals (clickhouse-connect's own formatting).
    assert pairs[0]["events"].replace(" ", "") == str(["usage_report"] * 4).replace(" ", "")
    assert pairs[0]["attrs"] == "['vus_max', 'iterations', 'duration', 'st_duration']"
    assert all("loadgen" not in x["sql"] for x in report_queries)
    assert {"app": "loadgen", "start": "2026-01-03", "end": "2026-02-01"} in [
        x["params"] for x in report_queries
    ]
    assert over_http["backend"] == "clickhouse"
    # Stop the endpoint's chDB before opening the folder here (one process per folder).
    embedded = analytics("report", "--db", str(ingested / "db"), "--json", "--since", "2026-01-03")
    assert embedded.returncode == 1 and "in use" in embedded.stderr  # the endpoint holds it


def test_clickhouse_and_chdb_reports_are_equal(ingested: Path, tmp_path: Path) -> None:
    log = tmp_path / "queries.jsonl"
    p = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(ingested / "db"), str(log)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert p.stdout is not None
        port = int(p.stdout.readline())
        r = analytics(
            "report", "--clickhouse", f"http://127.0.0.1:{port}/", "--json", "--catalog", CATALOG
        )
        assert r.returncode == 0, r.stderr
    finally:
        p.terminate()
        p.wait(10)
    e = analytics("report", "--db", str(ingested / "db"), "--json", "--catalog", CATALOG)
    assert e.returncode == 0, e.stderr
    over_http, embedded = json.loads(r.stdout), json.loads(e.stdout)
    assert over_http.pop("backend") == "clickhouse" and embedded.pop("backend") == "chdb"
    assert over_http == embedded


def test_a_range_without_data_still_reports(ingested: Path) -> None:
    page = ingested / "empty.html"
    r = analytics(
        "report", "--db", str(ingested / "db"), "--since", "2020-01-01", "--until", "2020-01-03",
        "--json", "--html", str(page),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["summary"]["events"] == 0
    # Rates stay floats (0.0, 1.0), as a ClickHouse server returns them.
    assert rep["summary"]["opt_out_rate"] == 0.0 and type(rep["summary"]["opt_out_rate"]) is float
    assert type(rep["summary"]["crash_free_sessions"]) is float
    assert [x["dau"] for x in rep["active"]] == [0, 0, 0]
    assert rep["commands"] == {"all": None, "groups": []}
    assert page.read_text().count("<svg") == 9  # no breakdown chart without a catalog


def test_adoption_chart_keeps_the_most_used_versions() -> None:
    from prodtel.analytics.html import _adoption_series

    days = ["2026-01-01", "2026-01-02"]
    rows = [
        {"day": d, "version": f"1.{i}.0", "installations": i + 1}
        for d in days
        for i in range(10)  # 1.9.0 is the most used, 1.0.0 the least
    ]
    series = _adoption_series(rows, days)
    names = [s[0] for s in series]
    assert names == [f"1.{i}.0" for i in range(3, 10)] + ["other"]
    assert dict((s[0], list(s[1])) for s in series)["other"] == [1 + 2 + 3, 1 + 2 + 3]
    assert series[-1][2] == "#9ca3af"


def test_ingest_points_at_a_left_out_errors_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    sessions = list(synth.sessions(installations=5, days=2, seed=2))
    synth.write_jsonl([[x for x in s if x.event != "exception"] for s in sessions],
                      data / "analytics.jsonl")  # fmt: skip
    synth.write_jsonl([[x for x in s if x.event == "exception"] or [] for s in sessions],
                      data / "errors.jsonl")  # fmt: skip
    r = analytics("ingest", str(data / "analytics.jsonl"), "--db", str(tmp_path / "db"))
    assert r.returncode == 0, r.stderr
    assert f"note: {data / 'errors.jsonl'} holds the exception records" in r.stderr
    r = analytics("ingest", str(data), "--db", str(tmp_path / "db"))
    assert r.returncode == 0 and "note:" not in r.stderr
