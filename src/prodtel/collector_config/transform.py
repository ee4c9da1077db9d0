"""OTTL for the catalogs: the filter's drop conditions, the transform's statement groups (types,
enums, lengths, keep lists) and the routing condition for exception records.

One collector can serve many apps: every per-app condition names the app's `service.name`, so
each app's events keep only their own declared attributes, an event name sent under another
app's `service.name` is dropped, and records of apps without a catalog are dropped."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prodtel._builtins import EXCEPTION as EXCEPTION_EVENT
from prodtel.collector_config.keys import RESOURCE_KEYS, catalogs_of, storable
from prodtel.collector_config.ottl import cap, first_chars, literal_list, log_attr, quote
from prodtel.collector_config.redaction import redaction_regex
from prodtel.patterns.secrets import XML_ELEMENT_VALUE_RE2
from prodtel.record import UID

if TYPE_CHECKING:
    from collections.abc import Sequence

    from prodtel.catalog import Attr, Catalog

RESOURCE_MAX_BYTES = 256  # versions, ids and names; nothing the SDK sends comes close
SEVERITY_TEXT_MAX_BYTES = 16
SCOPE_MAX_BYTES = 128
SCHEMA_URL_MAX_BYTES = 256


def resource_keys(catalogs: Catalog | Sequence[Catalog]) -> list[str]:
    """The resource keys to keep: `prodtel.ci` only when an app's Policy tags CI runs,
    `prodtel.agent` only when one tags runs driven by AI agents."""
    cats = catalogs_of(catalogs)
    drop = set()
    if not any(c.policy.ci == "tag" for c in cats):
        drop.add("prodtel.ci")
    if not any(c.policy.agent == "tag" for c in cats):
        drop.add("prodtel.agent")
    return [k for k in RESOURCE_KEYS if k not in drop]


SERVICE = f"resource.attributes[{quote('service.name')}]"


def is_app(catalog: Catalog) -> str:
    return f"{SERVICE} == {quote(catalog.app)}"


def filter_conditions(catalogs: Catalog | Sequence[Catalog]) -> list[str]:
    """Drop conditions (any true drops the record): apps without a catalog, and per app the
    events its catalog does not declare."""
    cats = catalogs_of(catalogs)
    return [
        f"not ContainsValue({literal_list(c.app for c in cats)}, {SERVICE})",
        *(
            f"{is_app(c)} and not ContainsValue({literal_list(c.events)}, log.event_name)"
            for c in cats
        ),
    ]


def mask(path: str) -> str:
    """Mask what the redaction patterns match in a string the redaction processor never sees (it
    scans attributes only): severity text, scope name/version, schema URLs."""
    return (
        f"replace_pattern({path}, {quote(redaction_regex())}, {quote('****')}) where {path} != nil"
    )


def mask_xml_values(path: str, *, in_map: bool = True) -> str:
    """Mask the value of a secret-named XML element in every string of the map at `path` (or in
    the string there), also on the line after the tag, keeping the tags and line breaks (the
    redaction processor masks same-line matches only: it replaces a whole match)."""
    regex, replacement = XML_ELEMENT_VALUE_RE2
    args = f"{quote(regex)}, {quote(replacement)}"
    if in_map:
        return f'replace_all_patterns({path}, "value", {args})'
    return f"replace_pattern({path}, {args})"


def resource_statements(catalogs: Catalog | Sequence[Catalog]) -> list[str]:
    """The resource keeps the documented keys, cut; its schema URL is cut and masked. The
    redaction processor masks the values (it scans resource attributes)."""
    return [
        f"keep_keys(resource.attributes, {literal_list(resource_keys(catalogs))})",
        f"truncate_all(resource.attributes, {RESOURCE_MAX_BYTES})",
        *cap("resource.schema_url", SCHEMA_URL_MAX_BYTES),
        mask("resource.schema_url"),
    ]


def scope_statements() -> list[str]:
    """No scope attributes; the scope's name, version and schema URL cut and masked (an
    instrumentation names its scope as it likes). Logs and traces alike."""
    return [
        'delete_matching_keys(scope.attributes, ".*")',
        *cap("scope.name", SCOPE_MAX_BYTES),
        *cap("scope.version", SCOPE_MAX_BYTES),
        *cap("scope.schema_url", SCHEMA_URL_MAX_BYTES),
        mask("scope.name"),
        mask("scope.version"),
        mask("scope.schema_url"),
    ]


def route_condition() -> str:
    """True for the records that go to the error tracker."""
    return (
        f"log.event_name == {quote(EXCEPTION_EVENT)}"
        f" or log.attributes[{quote('exception.type')}] != nil"
    )


def transform_groups(catalogs: Catalog | Sequence[Catalog]) -> list[dict[str, Any]]:
    """OTTL statement groups: resource and scope, every record, then per app its context
    attributes and one group per event."""
    cats = catalogs_of(catalogs)
    uid = log_attr(UID)
    records = [
        # The SDK never sends a body; nothing may ride in one.
        'set(log.body, "") where log.body != nil',
        *cap("log.severity_text", SEVERITY_TEXT_MAX_BYTES),
        mask("log.severity_text"),
        mask_xml_values("log.attributes"),
        f"delete_key(log.attributes, {quote(UID)}) where {uid} != nil"
        f" and not IsMatch({uid}, {quote('^[0-9a-f]{32}$')})",
    ]
    groups: list[dict[str, Any]] = [
        {"context": "resource", "statements": resource_statements(cats)},
        {"context": "scope", "statements": scope_statements()},
        {"context": "log", "statements": records},
    ]
    for catalog in cats:
        groups += _app_groups(catalog)
    return groups


def _app_groups(catalog: Catalog) -> list[dict[str, Any]]:
    context = storable(catalog.context)
    groups: list[dict[str, Any]] = []
    if context:
        statements = [s for a in context for s in attr_statements(a)]
        groups.append({"context": "log", "conditions": [is_app(catalog)], "statements": statements})
    for ev in catalog.events.values():
        attrs = storable(ev.attrs)
        keep = [a.name for a in (*attrs, *context)] + [UID]
        statements = [f"keep_keys(log.attributes, {literal_list(keep)})"]
        for a in attrs:
            statements += attr_statements(a)
        groups.append(
            {
                "context": "log",
                "conditions": [f"{is_app(catalog)} and log.event_name == {quote(ev.name)}"],
                "statements": statements,
            }
        )
    return groups


_IS = {str: "IsString", int: "IsInt", float: "IsDouble", bool: "IsBool"}


def attr_statements(a: Attr) -> list[str]:
    """Delete a value of the wrong type or outside the enum; cut strings to max_length chars."""
    v = log_attr(a.name)
    present = f"{v} != nil"
    name = quote(a.name)
    out = [f"delete_key(log.attributes, {name}) where {present} and not {_IS[a.type]}({v})"]
    if a.enum is not None:
        out.append(
            f"delete_key(log.attributes, {name}) where {present}"
            f" and not ContainsValue({literal_list(a.enum)}, {v})"
        )
    elif a.type is str:
        n = a.max_length
        # Bound the bytes first (n characters take at most 4n bytes in UTF-8), then cut to n
        # characters exactly, as the SDK does; the regex only runs on values over n bytes. The
        # first n characters lie whole inside the 4n-byte cut, so no split character survives.
        out.append(f"set({v}, Substring({v}, 0, {4 * n})) where {present} and Len({v}) > {4 * n}")
        out.append(
            f"replace_pattern({v}, {quote(first_chars(n))}, {quote('$1')})"
            f" where {present} and Len({v}) > {n}"
        )
    return out
