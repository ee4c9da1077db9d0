"""Names of the events prodtel itself sends (see docs/conventions.md). Their declarations are
`catalog.builtin_events()`; this module imports nothing, so any module may use the names."""

from __future__ import annotations

COMMAND = "command"
ENABLED = "TelemetryEnabled"
DISABLED = "TelemetryDisabled"
EXCEPTION = "exception"
DELETION = "TelemetryDeletionRequested"
