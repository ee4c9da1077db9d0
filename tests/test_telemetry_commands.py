"""`telemetry status|enable|disable|show|pending|reset-id`, the notice, and the transitions,
run as a user would: loadgen as a real process against the real collector."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.app import clean_env, loadgen, run_on_tty, seen_notice, sent_log
from tests.support.collector import Collector
from tests.support.loopback import wait_until

RUN = ("run", "--vus", "2", "--iterations", "4", "--duration", "1s")


def status(env: dict[str, str]) -> dict:  # type: ignore[type-arg]
    r = loadgen("telemetry", "status", "--explain", "--json", env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def test_status_explain_names_the_deciding_source(tmp_path: Path) -> None:
    env = clean_env(tmp_path, DO_NOT_TRACK="1", LOADGEN_TELEMETRY="all")
    data = status(env)
    assert data["level"] == "off" and data["decided_by"] == "env DO_NOT_TRACK"
    effects = {s["name"]: (s["value"], s["effect"]) for s in data["sources"]}
    assert effects["env DO_NOT_TRACK"] == ("1", "caps at off")
    assert effects["env LOADGEN_TELEMETRY"] == ("all", "sets all")
    text = loadgen("telemetry", "status", "--explain", env=env).stdout
    assert "loadgen telemetry is OFF" in text
    assert "=> env DO_NOT_TRACK" in text


def test_disable_then_enable_round_trip(tmp_path: Path, collector: Collector) -> None:
    seen_notice(tmp_path)
    env = clean_env(tmp_path, LOADGEN_TELEMETRY_ENDPOINT=collector.endpoint)
    assert status(env)["level"] == "all"
    assert loadgen("telemetry", "disable", env=env).returncode == 0
    cfg = json.loads((tmp_path / ".config/loadgen/telemetry.json").read_text())
    assert cfg["level"] == "off"
    assert status(env)["decided_by"] == "config file"
    loadgen(*RUN, env=env)  # disabled: sends nothing
    assert loadgen("telemetry", "enable", "--level", "error", env=env).returncode == 0
    assert status(env)["level"] == "error"
    recs = collector.wait_records(2)
    names = [r["event_name"] for r in recs]
    assert names == ["TelemetryDisabled", "TelemetryEnabled"], names
    assert recs[1]["attributes"]["level"] == "error"


def test_opt_out_by_env_sends_not_even_the_disable_event(
    tmp_path: Path, collector: Collector
) -> None:
    seen_notice(tmp_path)
    env = clean_env(tmp_path, LOADGEN_TELEMETRY_ENDPOINT=collector.endpoint)
    loadgen("telemetry", "disable", env={**env, "DO_NOT_TRACK": "1"})
    loadgen(*RUN, env=env)  # the persisted choice is off now
    collector.wait_records(0)
    assert list(collector.log_records()) == []


def test_show_lists_what_was_actually_sent(tmp_path: Path, collector: Collector) -> None:
    seen_notice(tmp_path)
    env = clean_env(tmp_path, LOADGEN_TELEMETRY_ENDPOINT=collector.endpoint)
    loadgen(*RUN, env=env)
    collector.wait_records(2)
    wanted = {"usage_report", "command"}
    wait_until(lambda: {e["event"] for e in sent_log(tmp_path)} >= wanted, timeout=30)
    r = loadgen("telemetry", "show", "--json", env=env)
    shown = json.loads(r.stdout)
    assert {e["event"] for e in shown} == wanted
    report = next(e for e in shown if e["event"] == "usage_report")
    assert report["attributes"]["vus_max"] == 2
    assert "usage_report" in loadgen("telemetry", "show", env=env).stdout


def test_reset_id_makes_a_new_installation_id(tmp_path: Path) -> None:
    env = clean_env(tmp_path, LOADGEN_TELEMETRY="all")
    first = json.loads(loadgen("telemetry", "reset-id", "--json", env=env).stdout)
    second = json.loads(loadgen("telemetry", "reset-id", "--json", env=env).stdout)
    assert first["installation_id"] != second["installation_id"]
    assert status(env)["installation_id"] == second["installation_id"]


def test_corrupt_config_leaves_the_app_running_and_shows_in_status(tmp_path: Path) -> None:
    cfg = tmp_path / ".config/loadgen"
    cfg.mkdir(parents=True)
    (cfg / "telemetry.json").write_text("{oops")
    env = clean_env(tmp_path)
    r = loadgen(*RUN, env=env)
    assert r.returncode == 0, r.stderr
    data = status(env)
    assert any("corrupt" in p for p in data["problems"]), data["problems"]


def test_unwritable_config_dir_leaves_the_app_running(tmp_path: Path) -> None:
    (tmp_path / ".config").write_text("a file where the config dir should be")
    env = clean_env(tmp_path)
    assert loadgen(*RUN, env=env).returncode == 0
    r = loadgen("telemetry", "disable", env=env)
    assert r.returncode == 0, r.stderr
    data = status(env)
    assert data["level"] == "off"
    assert any("cannot" in p for p in data["problems"]), data


def test_first_run_notice_shown_once_on_a_tty_only(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    assert "notice" not in loadgen(*RUN, env=env).stderr  # not a TTY: nothing printed
    first = run_on_tty(list(RUN), env)
    assert "loadgen collects anonymous usage data" in first
    assert "loadgen telemetry disable" in first and "DO_NOT_TRACK=1" in first
    assert "anonymous usage" not in run_on_tty(list(RUN), env)
    cfg = json.loads((tmp_path / ".config/loadgen/telemetry.json").read_text())
    assert cfg["notice_shown_at"]


@pytest.mark.parametrize("framework", ["click", "typer"])
def test_click_and_typer_mounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, framework: str
) -> None:
    import prodtel
    import prodtel.cli
    from prodtel import Catalog

    monkeypatch.setenv("MYTOOL_TELEMETRY", "crash")
    prodtel.init(Catalog("mytool", []), "1.0", config_dir=str(tmp_path))
    if framework == "click":
        import click
        from click.testing import CliRunner

        @click.group()
        def cli() -> None:
            pass

        cli.add_command(prodtel.cli.click_group())
        runner, app = CliRunner(), cli
    else:
        import typer
        from typer.testing import CliRunner as TyperRunner

        app = typer.Typer()
        app.add_typer(prodtel.cli.typer_app(), name="telemetry")

        @app.command()
        def other() -> None:
            pass

        runner = TyperRunner()  # type: ignore[assignment]
    r = runner.invoke(app, ["telemetry", "status", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["level"] == "crash"
    r = runner.invoke(app, ["telemetry", "disable"])
    assert r.exit_code == 0 and "disabled" in r.output
    monkeypatch.delenv("MYTOOL_TELEMETRY")
    prodtel.init(Catalog("mytool", []), "1.0", config_dir=str(tmp_path))  # the next run
    r = runner.invoke(app, ["telemetry", "status", "--json"])
    assert json.loads(r.output)["decided_by"] == "config file"
    prodtel.shutdown(0)


def test_prodtel_cli_explains_any_apps_consent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import prodtel
    from prodtel.cli.main import main

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("LOADGEN_NO_USAGE_REPORT", "1")
    catalog = "examples/loadgen/telemetry_catalog.py:CATALOG"
    args = ["telemetry", "--catalog", catalog]  # the opt-out env var comes from its Policy
    assert main([*args, "status", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["app"] == "loadgen" and data["level"] == "off"
    assert data["decided_by"] == "env LOADGEN_NO_USAGE_REPORT"
    prodtel.shutdown(0)
