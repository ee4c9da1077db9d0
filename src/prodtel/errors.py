"""Old home of crash reporting, kept so `prodtel.errors.watch_loop()` keeps working; the code
lives in `prodtel.crash`."""

from prodtel.crash import capture, install, uninstall, watch_loop
from prodtel.crash.sentry import sentry_options

__all__ = ["capture", "install", "sentry_options", "uninstall", "watch_loop"]
