"""The first-run notice: shown once, on stderr. By default (`notice="tty"`) only when stderr is
a terminal; with `notice="always"` also without one (CI, containers, scripts), the way .NET and
Next.js print theirs. The run that shows it sends nothing (opt-out policy); the time it was shown
is stored with the consent file, and from the next run on the policy's default applies."""

from __future__ import annotations

import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from prodtel.config import Settings
    from prodtel.consent.resolve import Decision
    from prodtel.consent.store import ConsentStore


# Names under which the `telemetry` commands are mounted (prodtel.cli adds them).
MOUNTED: set[str] = set()


def telemetry_command_running(argv: list[str] | None = None) -> bool:
    """Does this run look like `<app> telemetry ...`? Then the notice waits for the end of the
    run, and the command cancels it: `telemetry disable` must not print a notice telling the
    user to run `telemetry disable`. argv is only looked at here, never sent."""
    args = sys.argv[1:] if argv is None else argv
    if "--" in args:
        args = args[: args.index("--")]
    return any(a in MOUNTED for a in args)


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
    """Show the notice if it was never shown and may be shown here (a TTY, or anywhere with
    `notice="always"`); record when. True if shown. A missing or broken stderr shows nothing
    and counts nothing."""
    from prodtel.consent.resolve import seen_version

    out = stream or sys.stderr
    version = s.catalog.policy.consent_version
    shown_before = store.get("notice_shown_at")
    if out is None or (shown_before and seen_version(store) >= version):
        return False
    if s.notice != "always" and not _isatty(out):
        return False
    changed = (
        f"What {s.app} collects has changed since you last saw this notice"
        f" (consent version {version}).\n"
        if shown_before
        else ""
    )
    try:
        out.write(changed + text(s))
        out.flush()
    except (OSError, ValueError, AttributeError):  # closed or detached: not shown
        return False
    store.update(
        notice_shown_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        consent_version=version,
    )
    return True


def why_off(s: Settings, shown_at: str | None) -> tuple[str, str]:
    """In plain words, why an opt-out app sends nothing yet, and how to turn it on."""
    where = "on a terminal " if s.notice == "tty" else ""
    if shown_at:
        why = "the first-run notice was shown during this run; sending starts with the next run"
    else:
        why = f"the first-run notice has not been shown {where}yet; until then nothing is sent"
    how = (
        f"run `{s.command}` once {where}to see the notice, or turn it on now:"
        f" `{s.command} telemetry enable` or {s.level_env}=all"
    )
    return why, how


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
