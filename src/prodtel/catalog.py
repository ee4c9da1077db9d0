"""The catalog: every event an app may send, declared in code.

Only what the catalog declares ever leaves the process. The same declarations produce the public
usage page, the JSON schema and the collector's server-side filter.

    from prodtel import Attr, Catalog, Event

    CATALOG = Catalog(
        app="loadgen",
        context=[Attr("is_ci", bool, "Whether the run happens in CI.")],
        events=[
            Event("usage_report", "Sent once per run.", since="0.1.0", attrs=[
                Attr("vus_max", int, "Max VUs configured."),
                Attr("duration", float, "Test duration in seconds."),
            ]),
        ],
    )
"""

from __future__ import annotations

from prodtel._builtins import COMMAND, DELETION, DISABLED, ENABLED, EXCEPTION
from prodtel.policy import Policy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    AttrType = type[str] | type[int] | type[float] | type[bool]

_TYPE_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean"}
_SEGMENT_START = set("abcdefghijklmnopqrstuvwxyz")
_SEGMENT_CHARS = _SEGMENT_START | set("0123456789_")
# Names prodtel itself sends: an app may not declare them (docs/conventions.md).
RESERVED_EVENTS = frozenset({COMMAND, ENABLED, DISABLED, EXCEPTION, DELETION})
RESERVED_ATTRS = frozenset({"log.record.uid"})
DEFAULT_MAX_LENGTH = 256
INFINITIES = (float("inf"), float("-inf"))  # no `math`: a .so to load on every start
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # OTLP's intValue is an int64: never wrap


class CatalogError(ValueError):
    """Bad telemetry input in strict mode, or an invalid catalog declaration."""


class Attr:
    """A typed attribute of an event or of the global context."""

    __slots__ = ("description", "enum", "max_length", "name", "since", "type")

    def __init__(
        self,
        name: str,
        type: AttrType,
        description: str,
        *,
        enum: Iterable[str | int] | None = None,
        since: str | None = None,
        max_length: int = DEFAULT_MAX_LENGTH,
    ) -> None:
        _check_name(name, "attribute")
        if type not in _TYPE_NAMES:
            raise CatalogError(f"attribute {name!r}: type must be str, int, float or bool")
        self.name = name
        self.type = type
        self.description = description
        self.enum = tuple(enum) if enum is not None else None
        self.since = since
        self.max_length = max_length

    @property
    def type_name(self) -> str:
        return _TYPE_NAMES[self.type]

    def check(self, value: object) -> tuple[object, str | None]:
        """Return (clean value, problem). A problem means the value must not be sent."""
        t = self.type
        if t is float and type(value) is int:
            value = float(value)
        if type(value) is not t:
            return None, f"expected {self.type_name}, got {type(value).__name__}"
        if t is float and (value != value or value in INFINITIES):  # NaN or infinite
            return None, "number is not finite"
        if t is int and not INT64_MIN <= value <= INT64_MAX:  # type: ignore[operator]
            return None, f"integer {value} is outside the int64 range"
        if self.enum is not None and value not in self.enum:
            return None, f"{value!r} is not one of {list(self.enum)}"
        if t is str and len(value) > self.max_length:  # type: ignore[arg-type]
            return value[: self.max_length], "truncated"  # type: ignore[index]
        return value, None

    def __repr__(self) -> str:
        return f"Attr({self.name!r}, {self.type.__name__})"


class Event:
    """An event the app sends: name, description, attributes and the version that added it."""

    __slots__ = ("attrs", "builtin", "description", "level", "name", "since")

    def __init__(
        self,
        name: str,
        description: str,
        *,
        attrs: Iterable[Attr] = (),
        since: str | None = None,
        level: str = "all",
    ) -> None:
        _check_name(name, "event")
        self.name = name
        self.description = description
        self.attrs = _by_name(attrs, f"event {name!r}")
        self.since = since
        self.level = level
        self.builtin = False  # True only for prodtel's own events (builtin_events())

    def __repr__(self) -> str:
        return f"Event({self.name!r}, attrs={list(self.attrs)})"


class Span:
    """An OpenTelemetry span the app may send (from its own or third-party instrumentation).

    `name` is what the span is sent as; `names` are the span names instrumentations give it
    (default: `name` itself), so `Span("http.client", names=["GET", "POST"])` sends httpx's
    "GET" spans as `http.client`. Only declared `attrs` leave; spans and attributes the catalog
    does not declare are dropped in the SDK and again in the collector.
    """

    __slots__ = ("attrs", "description", "name", "names", "since")

    def __init__(
        self,
        name: str,
        description: str,
        *,
        attrs: Iterable[Attr] = (),
        names: Iterable[str] | None = None,
        since: str | None = None,
    ) -> None:
        _check_name(name, "span")
        self.name = name
        self.description = description
        self.attrs = _by_name(attrs, f"span {name!r}")
        self.names = tuple(names) if names is not None else (name,)
        if not self.names or not all(isinstance(n, str) and n for n in self.names):
            raise CatalogError(f"span {name!r}: names must be non-empty strings")
        self.since = since

    def __repr__(self) -> str:
        return f"Span({self.name!r}, names={list(self.names)}, attrs={list(self.attrs)})"


class Catalog:
    """All events of one app, plus the global context attributes that ride on every event,
    and the spans it may send (`spans=[Span(...)]`; none by default)."""

    def __init__(
        self,
        app: str,
        events: Iterable[Event],
        *,
        context: Iterable[Attr] = (),
        docs_url: str | None = None,
        include_builtins: bool = True,
        retention_days: int | None = None,
        policy: Policy | None = None,
        spans: Iterable[Span] = (),
    ) -> None:
        self.app = app
        self.docs_url = docs_url
        if retention_days is not None and (type(retention_days) is not int or retention_days < 1):
            raise CatalogError(
                f"retention_days must be a whole number >= 1, not {retention_days!r}"
            )
        # How long the analytics store keeps a record: stated on the usage page, enforced by
        # `prodtel analytics ingest --catalog` (a table TTL).
        self.retention_days = retention_days
        self.policy = (policy or Policy()).resolved(app)
        evs, ctx = list(events), list(context)
        for e in evs:
            _check_not_reserved(e)
        for a in ctx:
            if a.name in RESERVED_ATTRS:
                raise CatalogError(f"context attribute {a.name!r} is reserved: prodtel sets it")
        if include_builtins:
            known = {e.name for e in evs if e.builtin}  # another catalog's events passed on
            evs += [e for e in builtin_events() if e.name not in known]
        self.events: dict[str, Event] = {}
        for e in evs:
            if e.name in self.events:
                raise CatalogError(f"event {e.name!r} declared twice")
            self.events[e.name] = e
        self.context = _by_name(ctx, "context")
        for e in self.events.values():
            clash = set(e.attrs) & set(self.context)
            if clash:
                raise CatalogError(f"event {e.name!r}: {sorted(clash)} also declared as context")
        self.spans: dict[str, Span] = {}
        self.span_names: dict[str, Span] = {}  # a span name as instrumented -> its declaration
        for sp in spans:
            if sp.name in self.spans:
                raise CatalogError(f"span {sp.name!r} declared twice")
            self.spans[sp.name] = sp
            for n in sp.names:
                if n in self.span_names:
                    raise CatalogError(f"span name {n!r} claimed by two spans")
                self.span_names[n] = sp

    def __contains__(self, name: object) -> bool:
        return name in self.events

    def __getitem__(self, name: str) -> Event:
        return self.events[name]

    def json_schema(self) -> dict[str, Any]:
        """A JSON schema (draft 2020-12) of the events, one subschema per event name."""
        variants = []
        for e in self.events.values():
            props = {a.name: _attr_schema(a) for a in (*e.attrs.values(), *self.context.values())}
            variants.append(
                {
                    "title": e.name,
                    "description": e.description,
                    "type": "object",
                    "properties": {
                        "event_name": {"const": e.name},
                        "attributes": {
                            "type": "object",
                            "properties": props,
                            "additionalProperties": False,
                        },
                    },
                    "required": ["event_name"],
                }
            )
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": f"{self.app} telemetry events",
            "oneOf": variants,
        }


def _attr_schema(a: Attr) -> dict[str, Any]:
    s: dict[str, Any] = {"type": a.type_name, "description": a.description}
    if a.enum is not None:
        s["enum"] = list(a.enum)
    if a.type is str:
        s["maxLength"] = a.max_length
    if a.since:
        s["x-since"] = a.since
    return s


def _check_name(name: str, what: str) -> None:
    """snake_case, optionally namespaced with dots (`usage_report`, `exception.type`)."""
    if name in (ENABLED, DISABLED, DELETION) and what == "event":
        return  # built-in names from before the convention; apps cannot declare them
    for segment in name.split("."):
        if not segment or segment[0] not in _SEGMENT_START or not set(segment) <= _SEGMENT_CHARS:
            raise CatalogError(
                f"{what} name {name!r} is not snake_case: use lowercase letters, digits and '_', "
                f"starting with a letter, with '.' between namespaces (e.g. {_suggest(name)!r})"
            )


def _suggest(name: str) -> str:
    import re

    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    snake = re.sub(r"[^a-z0-9_.]+", "_", snake.lower()).strip("_.")
    return snake if snake and snake[0].isalpha() else f"x_{snake}"


def _check_not_reserved(e: Event) -> None:
    if e.builtin:
        return
    if e.name in RESERVED_EVENTS:
        hint = " (use @prodtel.command to send it)" if e.name == COMMAND else ""
        raise CatalogError(
            f"event name {e.name!r} is reserved: prodtel sends it itself{hint}; "
            "pick another name for the app's event"
        )
    for a in e.attrs:
        if a in RESERVED_ATTRS:
            raise CatalogError(f"event {e.name!r}: attribute {a!r} is reserved: prodtel sets it")


def _by_name(attrs: Iterable[Attr], where: str) -> dict[str, Attr]:
    out: dict[str, Attr] = {}
    for a in attrs:
        if a.name in out:
            raise CatalogError(f"{where}: attribute {a.name!r} declared twice")
        out[a.name] = a
    return out


# -- the events prodtel itself sends (docs/conventions.md); every catalog includes them --------
def builtin_events() -> list[Event]:
    events = [
        Event(
            COMMAND,
            "A command ran: its name, how long it took and whether it failed.",
            since="0.1.0",
            attrs=[
                Attr("command", str, "The command's name, as declared by the app."),
                Attr("duration_ms", float, "Wall time of the command in milliseconds."),
                Attr("outcome", str, "How the command ended.", enum=["ok", "error"]),
                Attr("error_type", str, "The exception type when the command failed."),
            ],
        ),
        Event(
            ENABLED,
            "Telemetry was turned on. Sent once, right after the change.",
            since="0.1.0",
            attrs=[
                Attr("level", str, "The new level.", enum=["crash", "error", "all"]),
                Attr("source", str, "What made the change (command, api)."),
            ],
        ),
        Event(
            DISABLED,
            "Telemetry was turned off with the disable command or the app's settings. "
            "The last record sent; opt-outs by env var or flag send nothing, not even this.",
            since="0.1.0",
            attrs=[Attr("source", str, "What made the change (command, api).")],
            level="off",
        ),
        Event(
            EXCEPTION,
            "A crash (unhandled) or a reported error (handled), with a scrubbed stack trace.",
            since="0.1.0",
            attrs=[
                Attr("exception.type", str, "The exception's qualified type name."),
                Attr("exception.message", str, "The scrubbed message.", max_length=2048),
                Attr("exception.stacktrace", str, "The scrubbed traceback.", max_length=32768),
                Attr("exception.handled", bool, "False for crashes, true for reported errors."),
            ],
            level="crash",
        ),
        Event(
            DELETION,
            "The user asked for the data of an installation to be deleted (`telemetry disable "
            "--delete` or `reset-id --delete`). It carries the old installation id; sent once, "
            "also when telemetry is then off, and retried until delivered.",
            since="0.1.0",
            attrs=[Attr("source", str, "The command that asked.", enum=["disable", "reset-id"])],
            level="off",
        ),
    ]
    for e in events:
        e.builtin = True
    return events
