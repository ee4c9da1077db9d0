"""Which characters every match of a regex must hold, from re's own parse tree: scrub.SKIP's
`needs` column. A few character sets; every match holds at least one character of each. A part
that proves nothing small (a negated class, a category such as \\w, an optional part) adds no
set."""

from __future__ import annotations

import functools
import re
import re._constants as c
import re._parser

MAX_CHARS = 12  # a larger set would cost more `in` scans than it saves
MAX_SETS = 3
# Characters from common to rare in the texts scrubbed (roughly): a set of rare ones lets more
# texts skip a pattern.
COMMON = "e tao.insrhl-dcu0123456789/_mfpgwybv:,=kxjqz"


def _commonness(chars: str) -> int:
    return sum(len(COMMON) - COMMON.index(ch.lower()) for ch in chars if ch.lower() in COMMON)


def needs(source: str, flags: int = 0) -> tuple[str, ...]:
    tree = re._parser.parse(source, flags)
    found = _sequence(tree, bool(tree.state.flags & re.I))
    unique = sorted({"".join(sorted(s)) for s in found}, key=lambda s: (len(s), _commonness(s), s))
    return tuple(unique[:MAX_SETS])


def _sequence(items: re._parser.SubPattern, icase: bool) -> list[frozenset[str]]:
    """Every item of a sequence matches: each one's sets are required."""
    out: list[frozenset[str]] = []
    for op, av in items:
        out += _item(op, av, icase)
    return out


@functools.cache
def _chars(code: int, icase: bool) -> frozenset[str]:
    """What matches this one character: under IGNORECASE more than its two cases (re also
    matches the Kelvin sign for k, dotless i for i, long s for s...)."""
    ch = chr(code)
    if not icase:
        return frozenset(ch)
    one = re.compile(re.escape(ch), re.I)
    return frozenset(chr(o) for o in range(0x10000) if one.fullmatch(chr(o)))


def _item(op: object, av: object, icase: bool) -> list[frozenset[str]]:
    if op is c.LITERAL:
        return [_chars(av, icase)]  # type: ignore[arg-type]
    if op is c.IN:
        out: frozenset[str] = frozenset()
        for iop, iav in av:  # type: ignore[attr-defined]
            if iop is c.LITERAL:
                out |= _chars(iav, icase)
            elif iop is c.RANGE and iav[1] - iav[0] < MAX_CHARS:
                for code in range(iav[0], iav[1] + 1):
                    out |= _chars(code, icase)
            else:  # NEGATE, CATEGORY, a wide range
                return []
        return [out] if len(out) <= MAX_CHARS else []
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
        lo, _hi, sub = av  # type: ignore[misc]
        return _sequence(sub, icase) if lo >= 1 else []
    if op is c.SUBPATTERN:
        _group, add, remove, sub = av  # type: ignore[misc]
        return _sequence(sub, (icase or bool(add & re.I)) and not remove & re.I)
    if op is c.ATOMIC_GROUP:
        return _sequence(av, icase)  # type: ignore[arg-type]
    if op is c.BRANCH:
        # One set per branch (its smallest); their union is required.
        union: frozenset[str] = frozenset()
        for branch in av[1]:  # type: ignore[index]
            sets = _sequence(branch, icase)
            if not sets:
                return []
            union |= min(sets, key=len)
        return [union] if len(union) <= MAX_CHARS else []
    return []  # ANY, NOT_LITERAL, anchors, lookarounds, group references
