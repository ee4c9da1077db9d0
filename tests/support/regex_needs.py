"""Which characters every match of a regex contains (at least one of them), from re's own parse
tree: scrub.SKIP's `needs` column. None when no small set can be proven (a negated class, a
category such as \\w, an optional part...)."""

from __future__ import annotations

import functools
import re
import re._constants as c
import re._parser

MAX_CHARS = 12  # a larger set would cost more `in` scans than it saves


def needs(source: str, flags: int = 0) -> str | None:
    tree = re._parser.parse(source, flags)
    found = _sequence(tree, bool(tree.state.flags & re.I))
    return "".join(sorted(found)) if found is not None else None


def _sequence(items: re._parser.SubPattern, icase: bool) -> set[str] | None:
    best: set[str] | None = None
    for op, av in items:
        found = _item(op, av, icase)
        if found is not None and (best is None or len(found) < len(best)):
            best = found
    return best


@functools.cache
def _chars(code: int, icase: bool) -> frozenset[str]:
    """What matches this one character: under IGNORECASE more than its two cases (re also
    matches the Kelvin sign for k, dotless i for i, long s for s...)."""
    ch = chr(code)
    if not icase:
        return frozenset(ch)
    one = re.compile(re.escape(ch), re.I)
    return frozenset(chr(o) for o in range(0x10000) if one.fullmatch(chr(o)))


def _item(op: object, av: object, icase: bool) -> set[str] | None:
    if op is c.LITERAL:
        return set(_chars(av, icase))  # type: ignore[arg-type]
    if op is c.IN:
        out: set[str] = set()
        for iop, iav in av:  # type: ignore[attr-defined]
            if iop is c.LITERAL:
                out |= _chars(iav, icase)
            elif iop is c.RANGE and iav[1] - iav[0] < MAX_CHARS:
                for code in range(iav[0], iav[1] + 1):
                    out |= _chars(code, icase)
            else:  # NEGATE, CATEGORY, a wide range
                return None
        return out if len(out) <= MAX_CHARS else None
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
        lo, _hi, sub = av  # type: ignore[misc]
        return _sequence(sub, icase) if lo >= 1 else None
    if op is c.SUBPATTERN:
        _group, add, remove, sub = av  # type: ignore[misc]
        return _sequence(sub, (icase or bool(add & re.I)) and not remove & re.I)
    if op is c.ATOMIC_GROUP:
        return _sequence(av, icase)  # type: ignore[arg-type]
    if op is c.BRANCH:
        out = set()
        for branch in av[1]:  # type: ignore[index]
            got = _sequence(branch, icase)
            if got is None:
                return None
            out |= got
        return out if len(out) <= MAX_CHARS else None
    return None  # ANY, NOT_LITERAL, anchors, lookarounds, group references
