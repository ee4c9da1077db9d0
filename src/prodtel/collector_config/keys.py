"""Which attribute keys the pipeline may store, and which of them need no redaction scan."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from prodtel import resource
from prodtel.record import UID

if TYPE_CHECKING:
    from collections.abc import Sequence

    from prodtel.catalog import Attr, Catalog

# docs/conventions.md: the resource attributes the SDK sends. Anything else is dropped.
RESOURCE_KEYS = resource.KEYS
# Never stored, even if a catalog declared them: addresses of the sending machine. Left out of
# every keep list when the config is generated, so no regex runs on keys per record.
ADDRESS_KEYS = re.compile(
    r"^(client|network\.peer|net\.peer|net\.sock\.peer|source)\.|^http\.client_ip$"
)


def storable(attrs: dict[str, Attr]) -> list[Attr]:
    """Declared attributes minus network addresses."""
    return [a for a in attrs.values() if not ADDRESS_KEYS.search(a.name)]


def catalogs_of(catalogs: Catalog | Sequence[Catalog]) -> list[Catalog]:
    """One catalog or several (one collector for many apps), as a list."""
    from prodtel.catalog import Catalog

    return [catalogs] if isinstance(catalogs, Catalog) else list(catalogs)


def _all_attrs(catalogs: Catalog | Sequence[Catalog]) -> list[Attr]:
    return [
        a
        for c in catalogs_of(catalogs)
        for a in storable(c.context) + [a for e in c.events.values() for a in storable(e.attrs)]
    ]


def allowed_keys(catalog: Catalog | Sequence[Catalog]) -> list[str]:
    """Every key the transform can leave: the redaction processor drops the rest (fail closed)."""
    return sorted({*RESOURCE_KEYS, UID, *(a.name for a in _all_attrs(catalog))})


def ignored_keys(catalog: Catalog | Sequence[Catalog]) -> list[str]:
    """Keys whose values the transform already pinned down (numbers, bools, enum members, the
    hex uid): nothing to mask there, so the redaction's regexes skip them. A name declared
    free-form anywhere is scanned everywhere (the lists are per processor, not per event)."""
    attrs = _all_attrs(catalog)
    pinned = {a.name for a in attrs if a.type is not str or a.enum is not None}
    free = {a.name for a in attrs if a.type is str and a.enum is None}
    return sorted((pinned | {UID}) - free)
