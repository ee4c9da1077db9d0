"""What `track()` and `set_context()` accept. Production drops the bad part and counts it (on
the worker thread, see pipeline.Validate); strict mode raises CatalogError naming the event and
field, on the caller's thread."""

from __future__ import annotations

from prodtel.catalog import INFINITIES, INT64_MAX, INT64_MIN, CatalogError
from prodtel.counters import count

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from prodtel.catalog import Attr, Catalog


_Rule = tuple[type, "frozenset[object] | None", int]  # type, enum values, max length


class Validator:
    """Checks `track()` input against a catalog: raises in strict mode, else drops and counts."""

    __slots__ = ("_events", "_rules", "catalog", "drops", "strict")

    def __init__(self, catalog: Catalog, strict: bool, drops: dict[str, int]) -> None:
        self.catalog = catalog
        self.strict = strict
        self.drops = drops
        self._rules: dict[int, dict[str, _Rule]] = {}
        self._events: dict[str, tuple[dict[str, _Rule], Mapping[str, Attr]]] = {}

    def event(self, name: str, attrs: Mapping[str, object]) -> dict[str, object] | None:
        """Clean attributes for `name`, or None when the whole event must be dropped."""
        try:
            known = self._events.get(name)  # the hot path: one lookup by name
        except TypeError:  # an unhashable "name": a bad event, not a crash
            known = None
        if known is None:
            ev = self.catalog.events.get(name) if type(name) is str else None
            if ev is None:
                self._problem(
                    "unknown_event", f"event {name!r} is not in the {self.catalog.app} catalog"
                )
                return None
            known = self._events[name] = (self._rules_of(ev.attrs), ev.attrs)
        return self._check(known[0], known[1], attrs, name)

    def context(self, attrs: Mapping[str, object]) -> dict[str, object]:
        declared = self.catalog.context
        return self._check(self._rules_of(declared), declared, attrs, None)

    def _rules_of(self, declared: Mapping[str, Attr]) -> dict[str, _Rule]:
        rules = self._rules.get(id(declared))
        if rules is None:
            rules = self._rules[id(declared)] = {
                a.name: (a.type, frozenset(a.enum) if a.enum else None, a.max_length)
                for a in declared.values()
            }
        return rules

    def _check(
        self,
        rules: dict[str, _Rule],
        declared: Mapping[str, Attr],
        attrs: Mapping[str, object],
        event: str | None,
    ) -> dict[str, object]:
        """`event`: the event's name, None for the context (named only in a problem)."""
        # Fast path: everything valid (the usual case) returns the caller's own dict unchanged.
        # Callers pass a dict they own (track()'s **kwargs), so no copy is needed.
        for key, value in attrs.items():
            rule = rules.get(key)
            if rule is None:
                return self._slow(declared, attrs, event)
            t, enum, max_length = rule
            if type(value) is not t or (enum is not None and value not in enum):
                return self._slow(declared, attrs, event)
            if t is str:
                if len(value) > max_length:  # type: ignore[arg-type]
                    return self._slow(declared, attrs, event)
            elif (t is float and (value != value or value in INFINITIES)) or (
                t is int and not INT64_MIN <= value <= INT64_MAX  # type: ignore[operator]
            ):
                return self._slow(declared, attrs, event)
        return attrs if isinstance(attrs, dict) else dict(attrs)

    def _slow(
        self, declared: Mapping[str, Attr], attrs: Mapping[str, object], event: str | None
    ) -> dict[str, object]:
        where = "context" if event is None else f"event {event!r}"  # built only when needed
        out: dict[str, object] = {}
        for key, value in attrs.items():
            spec = declared.get(key)
            if spec is None:
                self._problem("unknown_attribute", f"{where}: attribute {key!r} is not declared")
                continue
            clean, problem = spec.check(value)
            if problem == "truncated":
                self._problem(
                    "truncated",
                    f"{where}: attribute {key!r} is longer than {spec.max_length} characters",
                )
            elif problem is not None:
                self._problem("invalid_attribute", f"{where}: attribute {key!r}: {problem}")
                continue
            out[key] = clean
        return out

    def _problem(self, kind: str, message: str) -> None:
        if self.strict:
            raise CatalogError(message)
        count(self.drops, kind)
