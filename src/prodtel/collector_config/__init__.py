"""The collector pipeline that enforces an app's catalog server-side, redacts and routes.

    from prodtel.collector_config import generate
    text = generate(catalog)          # the YAML config; needs PyYAML (`prodtel[collector]`)

CLI: `prodtel collector-config` or `python -m prodtel.cli.collector` (prodtel.cli.collector).
Parts: generate (the config as data and YAML), transform (OTTL per event), redaction (masked
values), keys (which attributes may be stored), ottl (literals). Docs: docs/collector.md.
"""

from __future__ import annotations

from prodtel.collector_config.generate import ENV, MAX_REQUEST_MIB, config, env, generate, to_yaml
from prodtel.collector_config.keys import RESOURCE_KEYS, allowed_keys, ignored_keys
from prodtel.collector_config.redaction import REDACT_PATTERNS

__all__ = [
    "ENV",
    "MAX_REQUEST_MIB",
    "REDACT_PATTERNS",
    "RESOURCE_KEYS",
    "allowed_keys",
    "config",
    "env",
    "generate",
    "ignored_keys",
    "to_yaml",
]
