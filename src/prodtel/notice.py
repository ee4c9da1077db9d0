"""The first-run notice: shown once, on stderr, only on a TTY. The run that shows it sends
nothing (opt-out policy); the time it was shown is stored with the consent file."""

from __future__ import annotations

import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from prodtel.config import Settings
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
