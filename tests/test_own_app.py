"""Adding prodtel to your own app: one policy for the app and its page, reserved and
conventional names, the typed init(), argparse/click/typer parity, the decorator order, the
notice and telemetry commands, and debug mode explaining silence."""

from __future__ import annotations

import argparse
import inspect
import io
import json
from pathlib import Path
from typing import Any

import pytest

import prodtel
import prodtel.cli
from prodtel import Attr, Catalog, CatalogError, Event, Policy
from prodtel.config import TestHooks
from prodtel.config_params import PARAMS

IMG = Catalog(
    "imgshrink",
    [Event("image_shrunk", "An image was shrunk.", attrs=[Attr("ratio", float, "New/old.")])],
    policy=Policy(opt_out_envs=["IMGSHRINK_NO_STATS"], cli_flag="--no-stats"),
)


@pytest.fixture(autouse=True)
def _shut_down() -> Any:
    yield
    prodtel.shutdown(0)


def start(tmp_path: Path, env: dict[str, str], catalog: Catalog = IMG, **kw: Any) -> Any:
    return prodtel.init(
        catalog, "1.0", config_dir=str(tmp_path), test_hooks=TestHooks(environ=env), **kw
    )


# -- 1. the usage page and the app read one policy ------------------------------------------------
def test_the_usage_page_names_exactly_the_opt_outs_the_app_honours(tmp_path: Path) -> None:
    from prodtel import docs

    page = docs.render(IMG)
    assert "`IMGSHRINK_NO_STATS=1`" in page and "`--no-stats`" in page
    assert "IMGSHRINK_NO_TELEMETRY" not in page  # the default the app replaced
    seen = {"notice_shown_at": "2026-01-01"}
    (tmp_path / "telemetry.json").write_text(json.dumps(seen))
    assert start(tmp_path, {}).decision.level_name == "all"
    t = start(tmp_path, {"IMGSHRINK_NO_STATS": "1"})
    assert t.decision.level_name == "off" and t.decision.winner == "env IMGSHRINK_NO_STATS"
    t = start(tmp_path, {}, cli_opt_out=True)
    assert t.decision.winner == "--no-stats"


def test_init_keywords_add_opt_outs_but_never_drop_the_pages(tmp_path: Path) -> None:
    t = start(tmp_path, {"IMGSHRINK_NO_STATS": "1"}, opt_out_envs=["OTHER_OFF"])
    assert t.settings.opt_out_envs == ("IMGSHRINK_NO_STATS", "OTHER_OFF")
    assert t.decision.level_name == "off"


def test_docs_and_telemetry_cli_read_the_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from prodtel.cli.main import main

    mod = tmp_path / "img_catalog.py"
    mod.write_text(
        "from prodtel import Catalog, Policy\n"
        "CATALOG = Catalog('imgshrink', [], policy=Policy(opt_out_envs=['IMGSHRINK_NO_STATS']))\n"
    )
    assert main(["docs", "--catalog", f"{mod}:CATALOG"]) == 0
    out = capsys.readouterr().out
    assert "IMGSHRINK_NO_STATS=1" in out and "IMGSHRINK_NO_TELEMETRY" not in out
    with pytest.raises(SystemExit):
        main(["docs", "--catalog", f"{mod}:CATALOG", "--opt-out-env", "X"])
    assert "Policy(opt_out_envs=...)" in capsys.readouterr().err


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="opt-out"):
        Policy(default="maybe")
    with pytest.raises(ValueError, match="not an environment variable"):
        Policy(opt_out_envs=["NO-STATS"])
    assert Policy(opt_out_envs="A_OFF").opt_out_envs == ("A_OFF",)  # not ('A', '_', ...)


def test_an_opt_in_page_does_not_promise_a_first_run_notice() -> None:
    from prodtel import docs

    page = docs.render(Catalog("x", [], policy=Policy(default="opt-in", ci="suppress")))
    assert "first run" not in page and "Nothing is sent until you run `x telemetry enable`" in page
    assert "Nothing is sent from CI systems" in page


# -- 2. reserved names and the naming convention --------------------------------------------------
@pytest.mark.parametrize("name", ["command", "exception", "TelemetryEnabled", "TelemetryDisabled"])
def test_built_in_event_names_are_reserved(name: str) -> None:
    with pytest.raises(CatalogError, match="reserved"):
        Catalog("x", [Event(name, "mine")])
    with pytest.raises(CatalogError, match="reserved"):
        Catalog("x", [Event(name, "mine")], include_builtins=False)


def test_the_record_uid_attribute_is_reserved() -> None:
    with pytest.raises(CatalogError, match="reserved"):
        Catalog("x", [Event("e", "d", attrs=[Attr("log.record.uid", str, "mine")])])
    with pytest.raises(CatalogError, match="reserved"):
        Catalog("x", [], context=[Attr("log.record.uid", str, "mine")])


@pytest.mark.parametrize("name", ["ImageShrunk", "image-shrunk", "1st", "a..b", "_x", "a b"])
def test_names_must_be_snake_case(name: str) -> None:
    with pytest.raises(CatalogError, match="snake_case"):
        Event(name, "d")
    with pytest.raises(CatalogError, match="snake_case"):
        Attr(name, str, "d")


def test_the_message_suggests_a_name() -> None:
    with pytest.raises(CatalogError, match="'image_shrunk'"):
        Event("ImageShrunk", "d")


def test_snake_case_with_namespaces_is_fine() -> None:
    Event("image_shrunk", "d", attrs=[Attr("exception.type", str, "d"), Attr("v2_ok", bool, "")])


# -- 7. the typed init() and one settings table ---------------------------------------------------
def test_init_has_one_typed_keyword_per_setting_with_a_docstring_line() -> None:
    sig = inspect.signature(prodtel.init)
    keywords = {n for n, p in sig.parameters.items() if p.kind is p.KEYWORD_ONLY}
    assert keywords == {p.name for p in PARAMS}
    doc = prodtel.init.__doc__ or ""
    for name in keywords:
        assert f"\n        {name}: " in doc, f"init() docstring misses {name}"
        assert sig.parameters[name].annotation != inspect.Parameter.empty


def test_an_unknown_init_keyword_is_a_type_error(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="opt_out_env"):
        start(tmp_path, {}, opt_out_env=["X"])


def test_the_settings_table_in_the_docs_is_generated_and_current() -> None:
    from prodtel import settings_doc

    path = Path(__file__).resolve().parents[1] / "docs/settings.md"
    assert path.read_text() == settings_doc.render(), "regenerate: make docs"
    for name in ("command", "show_notice", "cli_flag", "opt_out_envs"):
        assert f"| `{name}` |" in settings_doc.render()


# -- 6. typer and click parity with argparse ------------------------------------------------------
CASES = [
    ["status", "--json", "--explain"],
    ["enable", "--level", "crash"],
    ["enable"],
    ["disable", "--json"],
    ["show", "-n", "3"],
    ["show", "--json"],
    ["pending", "--json"],
    ["reset-id", "--json"],
]
BAD = [["enable", "--level", "everything"], ["show", "-n", "many"], ["status", "--nope"]]


def _via_argparse(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="app")
    prodtel.cli.add_argparse(parser.add_subparsers(dest="cmd"))
    try:
        return prodtel.cli.run_argparse(parser.parse_args(["telemetry", *argv]))
    except SystemExit as e:
        return int(e.code or 0)


def _via_click(argv: list[str]) -> int:
    from click.testing import CliRunner

    return CliRunner().invoke(prodtel.cli.click_group(), argv).exit_code


def _via_typer(argv: list[str]) -> int:
    import typer
    from typer.testing import CliRunner

    app = typer.Typer()
    app.add_typer(prodtel.cli.typer_app(), name="telemetry")

    @app.command()
    def other() -> None:
        pass

    return CliRunner().invoke(app, ["telemetry", *argv]).exit_code


@pytest.mark.parametrize("argv", CASES + BAD, ids=" ".join)
def test_click_and_typer_take_the_same_options_as_argparse(
    argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(cmd: str, **kw: Any) -> int:
        calls.append((cmd, {"as_json": False, "explain": False, "level": "all", "n": 20, **kw}))
        return 0

    monkeypatch.setattr("prodtel.cli.mount.execute", record)
    results = []
    for run in (_via_argparse, _via_click, _via_typer):
        calls.clear()
        code = run(argv)
        results.append((run.__name__, code, [(c, dict(sorted(kw.items()))) for c, kw in calls]))
    codes = {code for _, code, _ in results}
    if argv in BAD:
        assert 0 not in codes, results
        assert all(not c for _, _, c in results), results
    else:
        assert codes == {0}, results
        assert results[0][2] == results[1][2] == results[2][2], results


# -- 6. decorator order ---------------------------------------------------------------------------
def test_command_decorator_above_typer_command_still_sends(prodtel_capture: Any) -> None:
    import typer
    from typer.testing import CliRunner

    app = typer.Typer()

    @prodtel.command("shrink")
    @app.command()
    def shrink(path: str) -> None:
        pass

    @app.command()
    def other() -> None:
        pass

    start_capture(prodtel_capture)
    r = CliRunner().invoke(app, ["shrink", "a.png"])
    assert r.exit_code == 0, r.output
    prodtel_capture.assert_event("command", command="shrink", outcome="ok")


def test_command_decorator_above_click_command_still_sends(prodtel_capture: Any) -> None:
    import click
    from click.testing import CliRunner

    @click.group()
    def cli() -> None:
        pass

    @prodtel.command("shrink")
    @cli.command()
    @click.argument("path")
    def shrink(path: str) -> None:
        pass

    start_capture(prodtel_capture)
    r = CliRunner().invoke(cli, ["shrink", "a.png"])
    assert r.exit_code == 0, r.output
    prodtel_capture.assert_event("command", command="shrink", outcome="ok")


def start_capture(capture: Any) -> None:
    env = {"IMGSHRINK_TELEMETRY": "all"}
    prodtel.init(IMG, "1.0", test_hooks=TestHooks(environ=env))


# -- 6. the notice, and the telemetry commands ----------------------------------------------------
class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("cmd", ["disable", "status", "enable"])
def test_telemetry_commands_never_print_the_first_run_notice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cmd: str
) -> None:
    from prodtel.cli.mount import execute

    err = _Tty()
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setattr("sys.argv", ["imgshrink", "telemetry", cmd])
    prodtel.cli.click_group()  # the app mounts the commands as `telemetry`
    t = start(tmp_path, {})
    assert t.decision.first_run
    assert execute(cmd) == 0
    prodtel.shutdown(0)
    assert "anonymous usage" not in err.getvalue()


def test_a_first_run_on_a_terminal_shows_the_notice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    err = _Tty()
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setattr("sys.argv", ["imgshrink", "shrink", "a.png"])
    start(tmp_path, {})
    prodtel.shutdown(0)
    assert "imgshrink collects anonymous usage data" in err.getvalue()
    assert "--no-stats" in err.getvalue() and "IMGSHRINK_NO_STATS=1" in err.getvalue()


def test_a_run_that_only_looked_like_a_telemetry_command_shows_it_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    err = _Tty()
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setattr("sys.argv", ["imgshrink", "shrink", "telemetry"])  # a file so named
    prodtel.cli.click_group()
    start(tmp_path, {})
    assert err.getvalue() == ""
    prodtel.shutdown(0)
    assert "imgshrink collects anonymous usage data" in err.getvalue()


# -- 4. debug mode explains silence ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("env", "stored", "winner", "hint"),
    [
        ({}, None, "policy opt-out (first run)", "IMGSHRINK_TELEMETRY=all"),
        ({"IMGSHRINK_NO_STATS": "1"}, None, "env IMGSHRINK_NO_STATS", "unset IMGSHRINK_NO_STATS"),
        ({"DO_NOT_TRACK": "1"}, None, "env DO_NOT_TRACK", "unset DO_NOT_TRACK"),
        ({"IMGSHRINK_TELEMETRY": "off"}, None, "env IMGSHRINK_TELEMETRY", "=all"),
        ({}, {"level": "off"}, "config file", "imgshrink telemetry enable"),
    ],
)
def test_debug_mode_says_why_nothing_is_sent(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    stored: dict[str, str] | None,
    winner: str,
    hint: str,
) -> None:
    if stored:
        (tmp_path / "telemetry.json").write_text(json.dumps(stored))
    start(tmp_path, {**env, "PRODTEL_DEBUG": "1"})
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert f"telemetry is off, decided by {winner};" in lines[0]
    assert hint in lines[0]


def test_without_debug_an_off_decision_prints_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start(tmp_path, {})
    assert capsys.readouterr().err == ""


# -- 8. stale statements --------------------------------------------------------------------------
def test_the_usage_page_describes_ids_as_they_are() -> None:
    from prodtel import docs, identity

    row = next(r for r in docs.RESOURCE_FIELDS if r[0] == "session.id")
    sid = identity.session_id()
    assert len(sid) == 32 and int(sid, 16) >= 0
    assert row[2] == "32 hex characters"


def test_prodtel_help_has_no_dangling_comma(capsys: pytest.CaptureFixture[str]) -> None:
    from prodtel.cli.main import build_parser

    text = build_parser().format_help()
    description = text.split("\n\n")[1].strip()
    assert description.endswith(".") and not description.rstrip(".").endswith(",")


def test_the_readme_names_commands_that_exist() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "`prodtel report`" not in readme
    assert "prodtel[" in readme  # an install line with the extras


def test_conventions_describe_the_record_uid_as_it_is() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs/conventions.md").read_text()
    assert "uuid4 hex" not in text
    assert "log.record.uid" in text


def test_the_collector_keeps_the_ci_tag_only_when_the_policy_sends_it() -> None:
    from prodtel.collector_config.transform import resource_keys

    assert "prodtel.ci" in resource_keys(Catalog("x", [], policy=Policy(ci="tag")))
    assert "prodtel.ci" not in resource_keys(Catalog("x", [], policy=Policy(ci="send")))
