"""OTTL literals and expressions, escaped for the collector's config expansion."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

# Go's regexp allows at most 1000 repetitions per (nested) repeat.
_MAX_REPEAT = 1000


def quote(value: object) -> str:
    """An OTTL literal: strings double-quoted (JSON escapes are OTTL escapes), ints as is; `$`
    doubled so that the collector's config expansion gives it back (and never expands a
    `${env:...}` that came from a catalog)."""
    return escape_dollar(json.dumps(value))


def literal_list(values: Iterable[object]) -> str:
    return "[" + ", ".join(quote(v) for v in values) + "]"


def escape_dollar(text: str) -> str:
    """Escape `$` for the collector's config expansion."""
    return text.replace("$", "$$")


def log_attr(name: str) -> str:
    """The OTTL path of a log record attribute."""
    return f"log.attributes[{quote(name)}]"


def cap(path: str, n: int) -> list[str]:
    """Cut the string at `path` to n bytes, then drop a character the cut split (its 1-3 stray
    bytes read as U+FFFD to the regex): Substring has no UTF-8-safe mode at contrib v0.152."""
    return [
        f"set({path}, Substring({path}, 0, {n})) where Len({path}) > {n}",
        f"replace_pattern({path}, {quote(chr(0xFFFD) + '{1,3}$')}, {quote('')})"
        f" where Len({path}) == {n}",
    ]


def first_chars(n: int) -> str:
    """A regex whose group 1 is the first n characters of a longer string."""
    parts = [f".{{{_MAX_REPEAT}}}"] * (n // _MAX_REPEAT)
    if n % _MAX_REPEAT:
        parts.append(f".{{{n % _MAX_REPEAT}}}")
    return "(?s)^(" + "".join(parts) + ").+"
