"""`telemetry catalog`: every event an app can send, each attribute with its type and
description, and what rides on every record, as data (`--json`) and as text for a review."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from prodtel.catalog import Attr, Catalog

FORMAT = "prodtel.catalog/1"


def _attr(a: Attr) -> dict[str, Any]:
    out: dict[str, Any] = {"name": a.name, "type": a.type_name, "description": a.description}
    if a.enum is not None:
        out["enum"] = list(a.enum)
    if a.type is str:
        out["max_length"] = a.max_length
    if a.since:
        out["since"] = a.since
    return out


def describe(catalog: Catalog) -> dict[str, Any]:
    """The catalog as plain data: resource fields, context attributes, events."""
    from prodtel import docs

    return {
        "format": FORMAT,
        "app": catalog.app,
        "resource": [{"name": name, "description": what} for name, what, _ in docs.RESOURCE_FIELDS],
        "context": [_attr(a) for a in catalog.context.values()],
        "events": [
            {
                "name": e.name,
                "description": e.description,
                "since": e.since,
                "level": e.level,
                "builtin": e.name in docs.BUILTINS,
                "attributes": [_attr(a) for a in e.attrs.values()],
            }
            for e in catalog.events.values()
        ],
        **({"retention_days": catalog.retention_days} if catalog.retention_days else {}),
    }


def render(data: dict[str, Any]) -> str:
    """The same as text: one block per event, one line per attribute."""

    def line(a: dict[str, Any]) -> str:
        enum = f" one of {', '.join(map(str, a['enum']))}." if "enum" in a else ""
        return f"    {a['name']} ({a['type']}): {a['description']}{enum}"

    out = [f"{data['app']}: every event it can send", ""]
    out.append("Every record carries:")
    out += [f"    {r['name']}: {r['description']}" for r in data["resource"]]
    out += [line(a) for a in data["context"]]
    for e in data["events"]:
        since = f", since {e['since']}" if e["since"] else ""
        who = "sent by prodtel" if e["builtin"] else "sent by the app"
        out += ["", f"{e['name']} ({who}{since}): {e['description']}"]
        out += [line(a) for a in e["attributes"]] or ["    (no attributes)"]
    if "retention_days" in data:
        out += ["", f"Kept for {data['retention_days']} days after it arrives, then deleted."]
    return "\n".join(out)
