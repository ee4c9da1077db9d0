"""Deletion requests, end to end: `telemetry disable --delete` in the app -> the real collector
running the generated pipeline -> `prodtel analytics ingest` into chDB -> every row of the old
installation id gone (and rows of it that arrive later too); `analytics forget` by hand; the
request retried by a later run when the endpoint was down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import prodtel
from prodtel import Attr, Catalog, Event
from prodtel.testing import TestHooks
from tests.support.collector import Collector
from tests.support.collector import pipeline as pipeline_collector
from tests.support.loopback import Receiver, refused_url, wait_until
from tests.test_analytics_ingest import Remote

ROOT = Path(__file__).resolve().parents[1]
CATALOG_SOURCE = """
from prodtel import Attr, Catalog, Event

CATALOG = Catalog("forgetme", [
    Event("shrunk", "An image was shrunk.", attrs=[Attr("ratio", float, "New over old size.")]),
])
"""
CAT = Catalog(
    "forgetme",
    [Event("shrunk", "An image was shrunk.", attrs=[Attr("ratio", float, "New over old size.")])],
)
DELETION = "TelemetryDeletionRequested"


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[Collector]:
    from prodtel.collector_config import generate

    workdir = tmp_path / "collector"
    with pipeline_collector(workdir, generate(CAT), workdir / "data") as c:
        yield c


def app_env(home: Path, endpoint: str, **extra: str) -> dict[str, str]:
    """One installation: its own XDG dirs (consent file, id, outbox), the app at level all."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
        "FORGETME_TELEMETRY_ENDPOINT": endpoint,
        "FORGETME_TELEMETRY": "all",
        **extra,
    }


def use_app(env: dict[str, str], ratios: list[float]) -> str:
    """Run the app in this process as that installation (the dirs its CLI would use too);
    its installation id."""
    cfg = Path(env["XDG_CONFIG_HOME"]) / "forgetme"
    t = prodtel.init(
        CAT, "1.0", endpoint=env["FORGETME_TELEMETRY_ENDPOINT"], exit_timeout=5.0,
        config_dir=str(cfg), state_dir=str(Path(env["XDG_STATE_HOME"]) / "forgetme"),
        test_hooks=TestHooks(environ=env),
    )  # fmt: skip
    for r in ratios:
        t.track("shrunk", {"ratio": r})
    assert t.flush(10)
    prodtel.shutdown(5.0)
    iid = json.loads((cfg / "telemetry.json").read_text())["installation_id"]
    assert isinstance(iid, str)
    return iid


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prodtel.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env or {**os.environ},
        timeout=120,
    )


def ingest(data: Path, db: Path) -> dict[str, Any]:
    r = cli("analytics", "ingest", str(data), "--db", str(db), "--json")
    assert r.returncode == 0, r.stderr
    out: dict[str, Any] = json.loads(r.stdout)
    return out


def by_installation(db: Path) -> dict[str, int]:
    with Remote(db) as d:
        rows = d.rows(
            "SELECT ResourceAttributes['app.installation.id'] AS id, count() AS n"
            " FROM otel_logs GROUP BY id"
        )
    return {r["id"]: r["n"] for r in rows}


def test_disable_delete_removes_every_row_of_the_old_id(
    pipeline: Collector, tmp_path: Path, monkeypatch: Any
) -> None:
    for k in list(os.environ):
        if k.startswith(("OTEL_", "FORGETME_")) or k == "DO_NOT_TRACK":
            monkeypatch.delenv(k)
    data, db = pipeline.workdir / "data", tmp_path / "db"
    analytics = data / "analytics.jsonl"
    env_a = app_env(tmp_path / "a", pipeline.endpoint)
    env_b = app_env(tmp_path / "b", pipeline.endpoint)
    a = use_app(env_a, [0.5, 0.4, 0.3])
    b = use_app(env_b, [0.9])
    pipeline.wait_records(4, path=analytics)
    first = ingest(data, db)
    assert first["inserted"] == 4 and first["deleted"] == {"installations": [], "rows": 0}
    assert by_installation(db) == {a: 3, b: 1}

    # The user of installation A: `telemetry disable --delete`, through the real CLI.
    (tmp_path / "cat.py").write_text(CATALOG_SOURCE)
    catalog = f"{tmp_path / 'cat.py'}:CATALOG"
    cfg_a = tmp_path / "a/config/forgetme/telemetry.json"
    cfg_a.write_text(json.dumps({**json.loads(cfg_a.read_text()), "notice_shown_at": "2026"}))
    user_env = {k: v for k, v in env_a.items() if k != "FORGETME_TELEMETRY"}  # on by policy
    r = cli("telemetry", "--catalog", catalog, "disable", "--delete", "--json", env=user_env)
    assert r.returncode == 0, r.stderr
    said = json.loads(r.stdout)
    assert said["deleted_installation_id"] == a and said["request_delivered"] is True
    assert said["installation_id"] not in (a, None) and said["level"] == "off"
    recs = pipeline.wait_records(6, path=analytics)  # TelemetryDisabled + the request
    request = next(x for x in recs if x["event_name"] == DELETION)
    assert request["resource"]["app.installation.id"] == a
    assert request["attributes"]["source"] == "disable"

    second = ingest(data, db)
    assert second["deleted"]["installations"] == [a]
    assert second["deleted"]["rows"] == 5  # 3 events, TelemetryDisabled, the request itself
    assert by_installation(db) == {b: 1}

    # A record of the old id that arrives late (another process's outbox) goes too.
    late = prodtel.init(
        CAT, "1.0", endpoint=pipeline.endpoint, config_dir=str(tmp_path / "late"),
        exit_timeout=5.0, test_hooks=TestHooks(installation_id=a, environ=env_a),
    )  # fmt: skip
    late.track("shrunk", {"ratio": 0.1})
    assert late.flush(10)
    prodtel.shutdown(5.0)
    pipeline.wait_records(7, path=analytics)
    third = ingest(data, db)
    assert third["inserted"] == 1 and third["deleted"]["rows"] == 1
    assert by_installation(db) == {b: 1}

    # By hand: `prodtel analytics forget --installation-id B`.
    r = cli("analytics", "forget", "--installation-id", b, "--db", str(db), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["rows"] == 1
    assert by_installation(db) == {}
    r = cli("analytics", "forget", "--installation-id", " ", "--db", str(db))
    assert r.returncode == 1 and "at least one installation id" in r.stderr
    assert "Traceback" not in r.stderr


def test_an_undelivered_request_is_retried_by_the_next_run(tmp_path: Path) -> None:
    cfg = tmp_path / "cfg"
    env = {"FORGETME_TELEMETRY_UNSET": ""}
    t = prodtel.init(
        CAT, "1.0", endpoint=refused_url(), config_dir=str(cfg), policy="opt-in",
        test_hooks=TestHooks(environ=env),
    )  # fmt: skip
    t.enable()
    old = t.store.get("installation_id")
    from prodtel.cli import commands

    said = commands.reset_id(t, delete=True)
    assert said["deleted_installation_id"] == old and said["request_delivered"] is False
    assert said["installation_id"] != old
    prodtel.shutdown(0)
    stored = json.loads((cfg / "telemetry.json").read_text())
    assert [r["installation_id"] for r in stored["deletion_requests"]] == [old]

    rx = Receiver()
    try:
        # The next run: telemetry is off (opt-in, disabled), the request still goes.
        t = prodtel.init(
            CAT, "1.0", endpoint=rx.url, config_dir=str(cfg), policy="opt-in",
            test_hooks=TestHooks(environ=env),
        )  # fmt: skip
        t.disable()
        wait_until(lambda: [r for r in rx.records if r["event_name"] == DELETION])
        prodtel.shutdown(0)

        def forgotten() -> bool:
            data = json.loads((cfg / "telemetry.json").read_text())
            return data.get("deletion_requests") == []

        wait_until(forgotten)
        assert [r["event_name"] for r in rx.records].count(DELETION) == 1
        assert all(r["event_name"] != "shrunk" for r in rx.records)
        time.sleep(0.2)
        assert [r["event_name"] for r in rx.records].count(DELETION) == 1
    finally:
        rx.close()


def test_delete_without_an_id_has_nothing_to_do(tmp_path: Path) -> None:
    from prodtel.cli import commands

    t = prodtel.init(
        CAT, "1.0", endpoint=refused_url(), config_dir=str(tmp_path),
        test_hooks=TestHooks(environ={"FORGETME_TELEMETRY": "off"}),
    )  # fmt: skip
    said = commands.reset_id(t, delete=True)
    prodtel.shutdown(0)
    assert said["deleted_installation_id"] is None
    assert "nothing to delete" in commands.deletion_text("forgetme", said)
