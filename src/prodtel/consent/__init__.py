"""Consent: levels, sources, the persisted choice, and the resolution rule."""
