"""The README's example: testing a click app's telemetry with prodtel's pytest plugin."""

from click.testing import CliRunner
from notes import CATALOG, cli

import prodtel


def test_add_sends_only_the_word_count(prodtel_capture, monkeypatch):
    monkeypatch.setenv("NOTES_TELEMETRY", "all")  # as after `notes telemetry enable`
    result = CliRunner().invoke(cli, ["add", "call alice at home"])
    assert result.exit_code == 0
    prodtel_capture.assert_event("note_added", words=4)
    prodtel_capture.assert_matches_catalog(CATALOG)
    prodtel_capture.assert_no_pii()
    prodtel.shutdown(0)


def test_flag_opts_out(prodtel_capture, monkeypatch):
    monkeypatch.setenv("NOTES_TELEMETRY", "all")
    CliRunner().invoke(cli, ["--no-usage-report", "add", "hello"])
    prodtel_capture.assert_nothing_sent()
    prodtel.shutdown(0)
