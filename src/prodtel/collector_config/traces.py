"""The traces pipeline: the catalog's spans, enforced server-side like its events.

    otlp -> memory_limiter -> filter/spans -> transform/spans -> redaction/spans
         -> ${PRODTEL_TRACES_EXPORTERS}   (file/traces, or clickhouse: table otel_traces)

The SDK already sends only declared spans (prodtel.spans); this is the second line, for old or
rogue clients: spans of apps without a catalog, span names no catalog declares and spans with
links (their attributes are out of every processor's reach) are dropped, each span keeps only
its declared attributes (type, enum, length), span events other than "exception" are dropped
and those keep type, message and stack trace, trace state is cleared, the resource keeps only
the documented keys, and the patterns mask what looks like an email, IP or token in what is
left (resource and span attributes, event attributes, the status message, the scope's name and
version, schema URLs), as in the logs pipeline (collector_config.transform).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prodtel.collector_config.keys import RESOURCE_KEYS, catalogs_of, storable
from prodtel.collector_config.ottl import literal_list, quote
from prodtel.collector_config.redaction import blocked_value, redaction_regex
from prodtel.collector_config.transform import (
    attr_statements,
    mask_xml_values,
    resource_statements,
    scope_statements,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from prodtel.catalog import Attr, Catalog

# Env vars of this pipeline, with their defaults (generate.ENV takes them in).
TRACES_ENV = {
    "PRODTEL_TRACES_EXPORTERS": "[file/traces]",
}
EXCEPTION_KEYS = ("exception.type", "exception.message", "exception.stacktrace")
SERVICE = f"resource.attributes[{quote('service.name')}]"
STATUS_MAX_BYTES = 2048


def _span_attrs(catalogs: list[Catalog]) -> list[Attr]:
    return [a for c in catalogs for sp in c.spans.values() for a in storable(sp.attrs)]


def filter_processor(catalogs: list[Catalog]) -> dict[str, Any]:
    """Drop conditions: apps without a catalog, spans with links, per app the span names it
    does not declare, and every span event but "exception"."""
    spans = [
        f"not ContainsValue({literal_list(c.app for c in catalogs)}, {SERVICE})",
        # Links: OTTL (contrib v0.152) has no link context and the redaction processor skips
        # link attributes, so nothing here could clean them: a span with links is dropped.
        "Len(span.links) > 0",
    ]
    spans += [
        f"{SERVICE} == {quote(c.app)} and not ContainsValue({literal_list(c.spans)}, span.name)"
        for c in catalogs
    ]
    return {
        "error_mode": "ignore",
        "traces": {
            "span": spans,
            "spanevent": [f"spanevent.name != {quote('exception')}"],
        },
    }


def _on_span(statements: list[str]) -> list[str]:
    """The event statements of transform.attr_statements, on a span's attributes."""
    return [s.replace("log.attributes", "span.attributes") for s in statements]


def transform_processor(catalogs: list[Catalog]) -> dict[str, Any]:
    status = "span.status.message"
    groups: list[dict[str, Any]] = [
        {"context": "resource", "statements": resource_statements(catalogs)},
        {"context": "scope", "statements": scope_statements()},
        {
            "context": "span",
            "statements": [
                'set(span.trace_state, "")',
                f"set({status}, Substring({status}, 0, {STATUS_MAX_BYTES}))"
                f" where Len({status}) > {STATUS_MAX_BYTES}",
                f"replace_pattern({status}, {quote(redaction_regex())}, {quote('****')})",
                mask_xml_values(status, in_map=False),
                mask_xml_values("span.attributes"),
            ],
        },
        {
            "context": "spanevent",
            "statements": [
                f"keep_keys(spanevent.attributes, {literal_list(EXCEPTION_KEYS)})",
                mask_xml_values("spanevent.attributes"),
            ],
        },
    ]
    for c in catalogs:
        for sp in c.spans.values():
            attrs = storable(sp.attrs)
            statements = [f"keep_keys(span.attributes, {literal_list(a.name for a in attrs)})"]
            for a in attrs:
                statements += _on_span(attr_statements(a))
            groups.append(
                {
                    "context": "span",
                    "conditions": [
                        f"{SERVICE} == {quote(c.app)} and span.name == {quote(sp.name)}"
                    ],
                    "statements": statements,
                }
            )
    return {"error_mode": "ignore", "trace_statements": groups}


def redaction_processor(catalogs: list[Catalog]) -> dict[str, Any]:
    attrs = _span_attrs(catalogs)
    pinned = {a.name for a in attrs if a.type is not str or a.enum is not None}
    free = {a.name for a in attrs if a.type is str and a.enum is None}
    return {
        "allow_all_keys": False,
        "allowed_keys": sorted({*RESOURCE_KEYS, *EXCEPTION_KEYS, *(a.name for a in attrs)}),
        "ignored_keys": sorted(pinned - free),
        "blocked_values": [blocked_value()],
        "summary": "silent",
    }


def add_traces(
    cfg: dict[str, Any], catalogs: Catalog | Sequence[Catalog], env: Callable[[str], str]
) -> None:
    """Add the traces pipeline to a generated config (prodtel.collector_config.generate)."""
    cats = catalogs_of(catalogs)
    cfg["processors"].update(
        {
            "filter/spans": filter_processor(cats),
            "transform/spans": transform_processor(cats),
            "redaction/spans": redaction_processor(cats),
        }
    )
    data = env("PRODTEL_DATA_DIR")
    cfg["exporters"]["file/traces"] = {
        "path": f"{data}/traces.jsonl",
        "create_directory": True,
        "flush_interval": "1s",
        "rotation": {"max_megabytes": 100, "max_backups": 100},
    }
    clickhouse = cfg["exporters"].get("clickhouse")
    if clickhouse is not None:
        clickhouse["traces_table_name"] = "otel_traces"  # fixed, as otel_logs
    cfg["service"]["pipelines"]["traces"] = {
        "receivers": ["otlp"],
        "processors": ["memory_limiter", "filter/spans", "transform/spans", "redaction/spans"],
        "exporters": env("PRODTEL_TRACES_EXPORTERS"),
    }


__all__ = ["TRACES_ENV", "add_traces"]
