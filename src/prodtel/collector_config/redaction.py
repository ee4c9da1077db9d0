"""The redaction processor: fail-closed key list and the value patterns it masks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prodtel.collector_config.keys import allowed_keys, ignored_keys
from prodtel.collector_config.ottl import escape_dollar
from prodtel.patterns import re2_forms

if TYPE_CHECKING:
    from collections.abc import Sequence

    from prodtel.catalog import Catalog

# Second line of defence behind the SDK's scrubber: the RE2 forms (no look-around) of the one
# pattern table (prodtel.patterns), a match replaced by "****". They go to the redaction
# processor as ONE alternation: it keeps its patterns in a map (random order), and overlapping
# patterns applied in a random order mask differently (an email pattern eating into
# `user:pass@host`). One regex takes the leftmost match, every time.
REDACT_PATTERNS = tuple(re2_forms())


def redaction_regex() -> str:
    """The table's RE2 forms as one alternation, in table order (unescaped)."""
    return "|".join(f"(?:{p})" for p in REDACT_PATTERNS)


def blocked_value() -> str:
    """REDACT_PATTERNS as the one regex the processor gets (`$` escaped for the config)."""
    return escape_dollar(redaction_regex())


def redaction_processor(catalog: Catalog | Sequence[Catalog]) -> dict[str, Any]:
    return {
        "allow_all_keys": False,
        "allowed_keys": allowed_keys(catalog),
        "ignored_keys": ignored_keys(catalog),
        "blocked_values": [blocked_value()],
        "summary": "silent",
    }
