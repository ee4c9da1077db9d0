"""The redaction processor: fail-closed key list and the value patterns it masks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prodtel.collector_config.keys import allowed_keys, ignored_keys
from prodtel.collector_config.ottl import escape_dollar

if TYPE_CHECKING:
    from collections.abc import Sequence

    from prodtel.catalog import Catalog

# Second line of defence behind the SDK's scrubber (prodtel.scrub), in RE2 syntax (no
# look-around): a match is replaced by "****". They go to the redaction processor as ONE
# alternation: it keeps its patterns in a map (random order), and overlapping patterns applied in
# a random order mask differently (an email pattern eating into `user:pass@host`). One regex
# takes the leftmost match, every time.
REDACT_PATTERNS = (
    r"(?i)\b[a-z][a-z0-9+.-]*://[^\s/:@]+:[^\s/@]+@",  # credentials in URLs
    r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}",  # JWT
    r"(?i)\b(?:bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{12,}",
    r"\b(?:(?:AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}|(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|sk-[A-Za-z0-9_-]{20,}|glpat-[A-Za-z0-9_-]{20,})",  # vendor token formats
    r"(?i)\b(?:api[_-]?key|access[_-]?token|auth[_-]?token|secret|password|passwd|pwd)"
    r"""["']?\s*[:=]\s*["']?[^\s"',;&]+""",  # key=value secrets
    r"(?s)-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\z)",
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",  # email
    r"\b(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\b",
    r"(?i)\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b"  # IPv6, full and compressed
    r"|\b(?:[0-9a-f]{1,4}:){1,6}(?::[0-9a-f]{1,4}){1,6}\b",
)


def blocked_value() -> str:
    """REDACT_PATTERNS as the one regex the processor gets (`$` escaped for the config)."""
    return escape_dollar("|".join(f"(?:{p})" for p in REDACT_PATTERNS))


def redaction_processor(catalog: Catalog | Sequence[Catalog]) -> dict[str, Any]:
    return {
        "allow_all_keys": False,
        "allowed_keys": allowed_keys(catalog),
        "ignored_keys": ignored_keys(catalog),
        "blocked_values": [blocked_value()],
        "summary": "silent",
    }
