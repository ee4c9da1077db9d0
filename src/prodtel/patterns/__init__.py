"""One table of named scrubbing patterns, the single source for the SDK's `prodtel.scrub` and the
collector's generated redaction.

Each `Pattern` has a Python form (used by the SDK, may use look-around and groups), an
RE2-compatible form (no look-around, no backreferences; the collector's Go regexp runs it and
masks the whole match with `****`) or None when the rule needs Python (then `no_re2` says why),
and examples that must and must not match. tests/test_patterns.py checks every example against
both forms (the RE2 form with a real RE2 engine) and checks the generated collector config
against this table.

Order matters for the SDK: home paths and URLs before tokens, tokens before emails and IPs.
"""

from __future__ import annotations


class Pattern:
    """One named rule. Immutable; compares and hashes by its fields. (A plain class: importing
    dataclasses costs 3-6 ms of every enabled start-up, through `inspect`.)"""

    __slots__ = ("keeps", "matches", "name", "no_re2", "python", "re2", "replacement", "validate")
    FIELDS = ("name", "python", "replacement", "re2", "matches", "keeps", "validate", "no_re2")

    name: str
    python: str
    replacement: str
    re2: str | None
    matches: tuple[str, ...]
    keeps: tuple[str, ...]
    # A check the SDK runs on each match before replacing it ("luhn", "ipv6"); the RE2 form is
    # narrower instead, as the collector cannot run code per match.
    validate: str | None
    no_re2: str

    def __init__(
        self,
        name: str,
        python: str,
        replacement: str,
        re2: str | None,
        matches: tuple[str, ...] = (),
        keeps: tuple[str, ...] = (),
        validate: str | None = None,
        no_re2: str = "",
    ) -> None:
        values = (name, python, replacement, re2, matches, keeps, validate, no_re2)
        for field, value in zip(Pattern.FIELDS, values, strict=True):
            object.__setattr__(self, field, value)

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, f) for f in Pattern.FIELDS)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: Pattern is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is not Pattern:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{f}={getattr(self, f)!r}" for f in Pattern.FIELDS)
        return f"Pattern({fields})"


def luhn(digits: str) -> bool:
    """True if the digits in `digits` (separators ignored) pass the Luhn check."""
    nums = [int(c) for c in digits if c.isdigit()]
    total = 0
    for i, n in enumerate(reversed(nums)):
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return len(nums) >= 12 and total % 10 == 0


def _table() -> tuple[Pattern, ...]:
    from prodtel.patterns.personal import ADDRESSES, HOMES, IPV6
    from prodtel.patterns.secrets import CREDENTIALS, GENERIC

    return (*HOMES, *CREDENTIALS, *ADDRESSES, GENERIC, IPV6)


TABLE: tuple[Pattern, ...] = _table()
BY_NAME = {p.name: p for p in TABLE}


def re2_forms() -> list[str]:
    """The RE2 forms in table order (the collector's redaction alternation)."""
    return [p.re2 for p in TABLE if p.re2 is not None]
