"""Events prodtel itself sends (see docs/conventions.md); every catalog includes them."""

from __future__ import annotations

from prodtel.catalog import Attr, Event

COMMAND = "command"
ENABLED = "TelemetryEnabled"
DISABLED = "TelemetryDisabled"
EXCEPTION = "exception"


def builtin_events() -> list[Event]:
    return [
        Event(
            COMMAND,
            "A command ran: its name, how long it took and whether it failed.",
            since="0.1.0",
            attrs=[
                Attr("command", str, "The command's name, as declared by the app."),
                Attr("duration_ms", float, "Wall time of the command in milliseconds."),
                Attr("outcome", str, "How the command ended.", enum=["ok", "error"]),
                Attr("error_type", str, "The exception type when the command failed."),
            ],
        ),
        Event(
            ENABLED,
            "Telemetry was turned on. Sent once, right after the change.",
            since="0.1.0",
            attrs=[
                Attr("level", str, "The new level.", enum=["crash", "error", "all"]),
                Attr("source", str, "What made the change (command, api)."),
            ],
        ),
        Event(
            DISABLED,
            "Telemetry was turned off with the disable command or the app's settings. "
            "The last record sent; opt-outs by env var or flag send nothing, not even this.",
            since="0.1.0",
            attrs=[Attr("source", str, "What made the change (command, api).")],
            level="off",
        ),
        Event(
            EXCEPTION,
            "A crash (unhandled) or a reported error (handled), with a scrubbed stack trace.",
            since="0.1.0",
            attrs=[
                Attr("exception.type", str, "The exception's qualified type name."),
                Attr("exception.message", str, "The scrubbed message.", max_length=2048),
                Attr("exception.stacktrace", str, "The scrubbed traceback.", max_length=32768),
                Attr("exception.handled", bool, "False for crashes, true for reported errors."),
            ],
            level="crash",
        ),
    ]
