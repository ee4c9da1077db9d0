"""Test your app's telemetry: capture what would leave the machine, after the consent gate and
the scrubber, with nothing sent.

    from prodtel.testing import capture

    def test_report():
        with capture() as sent:
            main(["run", "--vus", "2"])
        sent.assert_event("usage_report", vus_max=2)
        sent.assert_matches_catalog(CATALOG)
        sent.assert_no_pii()

With pytest, use the `prodtel_capture` fixture (the plugin is registered automatically).
`TestHooks` sets a fake clock, installation id or environment:
`prodtel.init(..., test_hooks=TestHooks(clock=..., installation_id=...))`.
"""

from __future__ import annotations

from prodtel.config import TestHooks
from prodtel.testing.capture import Captured, capture

__all__ = ["Captured", "TestHooks", "capture"]
