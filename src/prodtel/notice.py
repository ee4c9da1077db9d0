"""The first-run notice: shown once, at the end of the first run, on stderr, only on a TTY, and
never by a `telemetry` command. The run that shows it sends nothing (opt-out policy); the time it
was shown is stored with the consent file. Also the debug line that says why nothing is sent."""

from __future__ import annotations

import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from prodtel.config import Settings
    from prodtel.consent.resolve import Decision
    from prodtel.consent.store import ConsentStore


def text(s: Settings) -> str:
    opt_outs = [f"{s.level_env}=off", *(f"{v}=1" for v in s.opt_out_envs), "DO_NOT_TRACK=1"]
    docs = s.catalog.docs_url or f"`{s.command} telemetry status --explain`"
    return (
        f"{s.app} collects anonymous usage data to improve the product: which features are used,\n"
        f"on which OS, architecture and version. No personal data, paths or arguments.\n"
        f"What is collected: {docs}\n"
        f"Nothing is sent during this first run. To opt out, run `{s.command} telemetry disable`,\n"
        f"pass {s.cli_flag}, or set {', '.join(opt_outs)}.\n"
    )


def maybe_show(s: Settings, store: ConsentStore, stream: TextIO | None = None) -> bool:
    """Show the notice if this is a TTY and it was never shown; record when. True if shown."""
    out = stream or sys.stderr
    if store.get("notice_shown_at") or not _isatty(out):
        return False
    out.write(text(s))
    out.flush()
    store.update(notice_shown_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    return True


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def explain_off(s: Settings, d: Decision, stream: TextIO | None = None) -> str:
    """With PRODTEL_DEBUG=1 and telemetry off: one line on stderr naming the source that decided
    and what would turn telemetry on. Returns the line."""
    line = f"prodtel: {s.app} telemetry is off, decided by {d.winner}; {_turn_on(s, d)}\n"
    out = stream or sys.stderr
    try:
        out.write(line)
        out.flush()
    except (OSError, ValueError):
        pass  # a closed stderr must not break the app
    return line


def _turn_on(s: Settings, d: Decision) -> str:
    enable = f"run `{s.command} telemetry enable` or set {s.level_env}=all"
    w = d.winner
    if d.first_run:
        return (
            "the first run sends nothing; later runs send once the first-run notice has been "
            f"shown on a terminal (off a terminal it is never shown): to send now, {enable}"
        )
    if w == s.cli_flag:
        return f"to turn it on, drop {s.cli_flag}"
    if w.startswith("CI detection"):
        return "the app's policy sends nothing in CI (ci='suppress')"
    if w == f"env {s.level_env}":
        return f"to turn it on, set {s.level_env}=all"
    if w.startswith("env "):
        return f"to turn it on, unset {w[4:]}"
    return f"to turn it on, {enable}"
