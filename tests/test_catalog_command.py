"""`telemetry catalog [--json]`: every event an app can send, each attribute with its type and
description, mounted with the other telemetry commands (argparse, click, typer)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import prodtel
from prodtel import Attr, Catalog, Event
from prodtel.catalog import CatalogError

ROOT = Path(__file__).resolve().parents[1]
LOADGEN = "examples/loadgen/telemetry_catalog.py:CATALOG"
CAT = Catalog(
    "reviewed",
    [
        Event(
            "image_shrunk",
            "An image was made smaller.",
            since="1.2.0",
            attrs=[
                Attr("ratio", float, "New size over old size."),
                Attr("format", str, "The image format.", enum=["png", "jpeg"]),
            ],
        )
    ],
    context=[Attr("is_ci", bool, "Whether the run happens in CI.")],
    retention_days=90,
)


def prodtel_cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "XDG_CONFIG_HOME": str(home / "cfg")}
    return subprocess.run(
        [sys.executable, "-m", "prodtel.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )


def test_json_lists_every_event_and_attribute_of_the_catalog(tmp_path: Path) -> None:
    from prodtel.catalog_loader import load_catalog

    r = prodtel_cli("telemetry", "--catalog", LOADGEN, "catalog", "--json", home=tmp_path)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    cat = load_catalog(LOADGEN)
    assert [e["name"] for e in data["events"]] == list(cat.events)
    for e in data["events"]:
        declared = cat.events[e["name"]]
        assert e["description"] == declared.description
        assert {a["name"]: (a["type"], a["description"]) for a in e["attributes"]} == {
            a.name: (a.type_name, a.description) for a in declared.attrs.values()
        }
    assert [a["name"] for a in data["context"]] == list(cat.context)
    assert "app.installation.id" in {r["name"] for r in data["resource"]}
    assert r.stderr == ""


def _run_in_process(cmd: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    from prodtel.cli.mount import execute

    prodtel.init(CAT, "1.0", show_notice=False, test_hooks=prodtel.testing.TestHooks(environ={}))
    try:
        assert execute(*cmd[:1], as_json="--json" in cmd) == 0
    finally:
        prodtel.shutdown(0)
    return capsys.readouterr().out


def test_text_names_types_enums_and_retention(capsys: pytest.CaptureFixture[str]) -> None:
    import prodtel.testing  # noqa: F401

    text = _run_in_process(["catalog"], capsys)
    assert "image_shrunk (sent by the app, since 1.2.0): An image was made smaller." in text
    assert "    format (string): The image format. one of png, jpeg." in text
    assert "    ratio (number): New size over old size." in text
    assert "    is_ci (boolean): Whether the run happens in CI." in text
    assert "Kept for 90 days" in text
    data: dict[str, Any] = json.loads(_run_in_process(["catalog", "--json"], capsys))
    assert data["retention_days"] == 90 and data["format"] == "prodtel.catalog/1"


def test_click_and_typer_mount_it_too() -> None:
    from click.testing import CliRunner

    from prodtel.cli.mount import click_group, typer_app

    assert "catalog" in click_group().commands
    import typer.main

    names = {c.name for c in typer.main.get_command(typer_app()).commands.values()}  # type: ignore[attr-defined]
    assert "catalog" in names
    prodtel.init(CAT, "1.0", show_notice=False, test_hooks=prodtel.testing.TestHooks(environ={}))
    try:
        out = CliRunner().invoke(click_group(), ["catalog", "--json"])
    finally:
        prodtel.shutdown(0)
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["events"][0]["name"] == "image_shrunk"


def test_retention_must_be_a_positive_whole_number() -> None:
    for bad in (0, -3, 1.5):
        with pytest.raises(CatalogError, match="retention_days"):
            Catalog("x", [], retention_days=bad)  # type: ignore[arg-type]
