"""Parse a small JSON file (the consent file, the dirs memo) without importing `json`.

`import json` imports `re` (2-4 ms), which a start-up with telemetry off would pay only to read
`{"level": "off"}`. The C scanner that `json` itself uses does the parsing; anything it does not
accept (another encoding, bad JSON) goes to `json.loads`, so results and errors are json's own.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

WHITESPACE = " \t\n\r"
_scan: Callable[[str, int], tuple[Any, int]] | None = None


class _Options:
    """What json.JSONDecoder() hands its scanner by default."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {
        "-Infinity": float("-inf"),
        "Infinity": float("inf"),
        "NaN": float("nan"),
    }.__getitem__


def loads(raw: bytes) -> Any:
    """Like json.loads(raw); raises ValueError (json.JSONDecodeError) on bad input."""
    global _scan
    try:
        text = raw.decode("utf-8")
        if _scan is None:
            import _json

            _scan = _json.make_scanner(_Options())  # type: ignore[arg-type]  # duck-typed
        start = len(text) - len(text.lstrip(WHITESPACE))
        value, end = _scan(text, start)
        if text[end:].strip(WHITESPACE):
            raise ValueError("extra data")
        return value
    except (ValueError, StopIteration, ImportError, AttributeError):
        import json

        return json.loads(raw)
