"""`analytics report --public --min-installations K`: aggregates safe to publish, tested on a
dataset with small cohorts (a rare OS, a rare version, a rare crash type)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from prodtel.analytics import synth

D0 = 1_767_225_600 * 10**9  # 2026-01-01


def cmd(ms: float) -> dict[str, Any]:
    return {"command": "run", "duration_ms": ms, "outcome": "ok"}


def dataset(path: Path) -> list[str]:
    """12 linux installations on 2.0.0, 3 windows ones on 1.0.0 (one of them crashing with a
    rare exception type). Returns every installation id."""
    sessions, ids = [], []
    for i in range(15):
        iid = f"inst-{i:02d}-{'w' if i >= 12 else 'l'}"
        ids.append(iid)
        rare = i >= 12
        res = synth.resource("pub", "1.0.0" if rare else "2.0.0", iid, f"s{i}",
                             "windows" if rare else "linux", "amd64")  # fmt: skip
        s = [synth.Record(D0 + i * 1000, res, "command", cmd(10.0 + i))]
        if i == 14:
            crash = {"exception.type": "RareSecretError", "exception.handled": False}
            s.append(synth.Record(D0 + i * 1000 + 1, res, "exception", crash))
        sessions.append(s)
    synth.write_jsonl(sessions, path)
    return ids


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prodtel.analytics", *args],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_small_cohorts_are_suppressed_and_no_id_is_published(tmp_path: Path) -> None:
    ids = dataset(tmp_path / "out.jsonl")
    db = str(tmp_path / "db")
    assert run("ingest", str(tmp_path / "out.jsonl"), "--db", db).returncode == 0
    page = tmp_path / "public.html"
    span = ("--since", "2026-01-01", "--until", "2026-01-01")
    r = run("report", "--db", db, *span, "--public", "--json", "--html", str(page))
    assert r.returncode == 0, r.stderr
    p = json.loads(r.stdout)
    assert p["min_installations"] == 10  # the default
    assert p["summary"]["installations"] == 15
    assert p["by_version"] == [{"version": "2.0.0", "installations": 12}]
    assert p["by_os"] == [{"os": "linux", "installations": 12}]
    assert p["crash_types"] == []
    assert [a["dau"] for a in p["active"]] == [15]
    assert p["suppressed"] >= 4  # 1.0.0, windows, windows/amd64, the crash type, ...
    html = page.read_text()
    text = json.dumps(p) + html
    for hidden in ("1.0.0", "windows", "Windows", "RareSecretError", *ids, "s14"):
        assert hidden not in text, hidden
    assert "at least 10 installations" in html and "<script" not in html and "http" not in html
    # The full (private) report does show them: the suppression is what hides them.
    full = json.loads(run("report", "--db", db, *span, "--json").stdout)
    assert {x["version"] for x in full["by_version"]} == {"1.0.0", "2.0.0"}
    # A lower threshold publishes the 3-installation cohorts, never the 1-installation crash.
    p3 = json.loads(run("report", "--db", db, *span, "--public", "--min-installations", "3",
                        "--json").stdout)  # fmt: skip
    assert {x["version"] for x in p3["by_version"]} == {"1.0.0", "2.0.0"}
    assert p3["crash_types"] == []
    # Too few installations overall: not even the total is published.
    p20 = json.loads(run("report", "--db", db, *span, "--public", "--min-installations", "20",
                         "--json").stdout)  # fmt: skip
    assert p20["summary"] is None and p20["by_version"] == [] and p20["active"][0]["dau"] is None
    bad = run("report", "--db", db, "--public", "--min-installations", "0")
    assert bad.returncode == 1 and "at least 1" in bad.stderr and "Traceback" not in bad.stderr
