"""Retention: the catalog's `retention_days` is stated on the usage page and enforced by the
analytics store (`analytics ingest --catalog` sets the table TTL; old rows go at the merge)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

from prodtel import Catalog, Event
from prodtel.docs import render

CATALOG_SOURCE = """
from prodtel import Catalog, Event
CATALOG = Catalog("keeper", [Event("usage_report", "One per run.")], retention_days=5)
"""


def test_the_usage_page_states_the_period_and_what_deletion_covers() -> None:
    page = render(Catalog("keeper", [Event("saved", "Saved.")], retention_days=400))
    assert "Reports are kept for 400 days after they arrive, then deleted automatically." in page
    assert "`keeper telemetry status` shows your installation id" in page
    assert "`keeper telemetry disable --delete`" in page and "reset-id --delete" in page
    assert "error tracker (a Sentry backend) are not covered" in page
    assert "`keeper telemetry enable --level local`" in page
    unset = render(Catalog("keeper", [Event("saved", "Saved.")]))
    assert "have not declared a retention period" in unset


def test_ingest_takes_the_ttl_from_the_catalog(tmp_path: Path) -> None:
    from prodtel.analytics import synth
    from tests.support.chdb_http import assert_retention

    today = dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=14)
    synth.write_jsonl(
        synth.sessions(installations=20, days=15, start=start, seed=5), tmp_path / "out.jsonl"
    )
    (tmp_path / "cat.py").write_text(CATALOG_SOURCE)
    r = subprocess.run(
        [
            sys.executable, "-m", "prodtel.analytics", "ingest", str(tmp_path / "out.jsonl"),
            "--db", str(tmp_path / "db"), "--catalog", f"{tmp_path / 'cat.py'}:CATALOG",
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert_retention(tmp_path / "db", 5, today)
