"""prodtel: consent-first product telemetry and crash reporting, built on OpenTelemetry."""
