"""The collector pipeline that enforces an app's catalog server-side, redacts and routes.

    prodtel collector-config --catalog examples/loadgen/telemetry_catalog.py:CATALOG \\
        --output collector-config/loadgen.yaml
    prodtel collector-config --catalog ... --check collector-config/loadgen.yaml

The SDK already sends only what the catalog declares; the collector is the second line, for old
or rogue clients: unknown events are dropped, each event keeps only its declared attributes with
the declared type, enum and length, the resource keeps only the keys docs/conventions.md lists,
values that look like emails, IPs or tokens are masked, and exception records go to the error
tracker instead of analytics. Docs: docs/collector.md.
"""

from __future__ import annotations

import json
import re
import sys

from prodtel import resource
from prodtel._builtins import EXCEPTION as EXCEPTION_EVENT
from prodtel.record import UID

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterable
    from typing import Any

    from prodtel.catalog import Attr, Catalog

# docs/conventions.md: the resource attributes the SDK sends. Anything else is dropped.
RESOURCE_KEYS = resource.KEYS
RESOURCE_MAX_BYTES = 256  # versions, ids and names; nothing the SDK sends comes close
SEVERITY_TEXT_MAX_BYTES = 16
SCOPE_MAX_BYTES = 128
# Never stored, even if a catalog declared them: addresses of the sending machine. Left out of
# every keep list when the config is generated, so no regex runs on keys per record.
ADDRESS_KEYS = re.compile(
    r"^(client|network\.peer|net\.peer|net\.sock\.peer|source)\.|^http\.client_ip$"
)
# Second line of defence behind the SDK's scrubber (prodtel.scrub), in RE2 syntax (no
# look-around): a match is replaced by "****". They go to the redaction processor as ONE
# alternation: it keeps its patterns in a map (random order), and overlapping patterns applied in
# a random order mask differently (an email pattern eating into `user:pass@host`). One regex
# takes the leftmost match, every time.
REDACT_PATTERNS = (
    r"(?i)\b[a-z][a-z0-9+.-]*://[^\s/:@]+:[^\s/@]+@",  # credentials in URLs
    r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}",  # JWT
    r"(?i)\b(?:bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{12,}",
    r"\b(?:(?:AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}|(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|sk-[A-Za-z0-9_-]{20,}|glpat-[A-Za-z0-9_-]{20,})",  # vendor token formats
    r"(?i)\b(?:api[_-]?key|access[_-]?token|auth[_-]?token|secret|password|passwd|pwd)"
    r"""["']?\s*[:=]\s*["']?[^\s"',;&]+""",  # key=value secrets
    r"(?s)-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\z)",
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",  # email
    r"\b(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\b",
    r"(?i)\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b"  # IPv6, full and compressed
    r"|\b(?:[0-9a-f]{1,4}:){1,6}(?::[0-9a-f]{1,4}){1,6}\b",
)
# Go's regexp allows at most 1000 repetitions per (nested) repeat.
_MAX_REPEAT = 1000
# Env vars the generated config reads, with their defaults (documented in docs/collector.md).
ENV = {
    "PRODTEL_OTLP_GRPC_ENDPOINT": "127.0.0.1:4317",
    "PRODTEL_OTLP_HTTP_ENDPOINT": "127.0.0.1:4318",
    "PRODTEL_HEALTH_ENDPOINT": "127.0.0.1:13133",
    "PRODTEL_METRICS_HOST": "127.0.0.1",
    "PRODTEL_METRICS_PORT": "8888",
    "PRODTEL_MEMORY_LIMIT_MIB": "400",
    "PRODTEL_MEMORY_SPIKE_MIB": "100",
    "PRODTEL_DATA_DIR": "./data",
    "PRODTEL_ANALYTICS_EXPORTERS": "[file/analytics]",
    "PRODTEL_ERRORS_EXPORTERS": "[file/errors]",
    "CLICKHOUSE_ENDPOINT": "tcp://127.0.0.1:9000",
    "CLICKHOUSE_USERNAME": "default",
    "CLICKHOUSE_PASSWORD": "",
    "CLICKHOUSE_DATABASE": "default",
    "CLICKHOUSE_LOGS_TABLE": "otel_logs",
    # lz4 is ClickHouse's own framing; an http:// endpoint also takes gzip or none.
    "CLICKHOUSE_COMPRESS": "lz4",
    # The exporters' persistent queues (file_storage): keep it on a volume that outlives the
    # process (docs/kubernetes.md). Size in requests (one OTLP request each, <= 4 MiB).
    "PRODTEL_QUEUE_DIR": "./data/queue",
    "PRODTEL_QUEUE_SIZE": "1000",
    # Only used when errors go to sentry_events, but `validate` checks every defined exporter,
    # so the default must parse: it names the missing variable and points at a closed port.
    "SENTRY_DSN": "http://SENTRY_DSN-not-set@127.0.0.1:9/0",
}
QUEUE_STORAGE = "file_storage/queue"
# Per OTLP request, after decompression. The SDK's usage batches (<= 4096 records of a few hundred
# bytes) stay well below; see docs/collector.md for batches of large exception records.
MAX_REQUEST_MIB = 4


def env(name: str) -> str:
    """A `${env:NAME:-default}` reference to one of ENV."""
    return f"${{env:{name}:-{ENV[name]}}}"


def generate(catalog: Catalog) -> str:
    """The collector config (YAML text) for `catalog`."""
    n = len(catalog.events)
    head = (
        f"# otelcol-prodtel pipeline for the {catalog.app!r} catalog ({n} events).\n"
        "# Generated by `prodtel collector-config`: do not edit, regenerate (docs/collector.md).\n"
        "# Env vars, with the defaults after `:-`, pick listen addresses, limits and exporters.\n"
    )
    return head + to_yaml(config(catalog))


def config(catalog: Catalog) -> dict[str, Any]:
    """The collector config as plain data."""
    data = env("PRODTEL_DATA_DIR")
    exporters: dict[str, Any] = {
        "file/analytics": _file(f"{data}/analytics.jsonl", max_mb=100),
        "file/errors": _file(f"{data}/errors.jsonl", max_mb=20),
        "clickhouse": {
            "endpoint": env("CLICKHOUSE_ENDPOINT"),
            "username": env("CLICKHOUSE_USERNAME"),
            "password": env("CLICKHOUSE_PASSWORD"),
            "database": env("CLICKHOUSE_DATABASE"),
            "logs_table_name": env("CLICKHOUSE_LOGS_TABLE"),
            "create_schema": False,  # the DDL is ours: collector-config/clickhouse/
            "compress": env("CLICKHOUSE_COMPRESS"),
            "timeout": "10s",
            "sending_queue": persistent_queue(
                batch={"flush_timeout": "1s", "sizer": "items", "min_size": 8192, "max_size": 65536}
            ),
            "retry_on_failure": {
                "enabled": True,
                "initial_interval": "1s",
                "max_interval": "30s",
                "max_elapsed_time": "5m",
            },
        },
        # Ours (collector-config/sentryeventsexporter): exception records -> Sentry issues.
        "sentry_events": {"dsn": env("SENTRY_DSN"), "sending_queue": persistent_queue()},
    }
    return {
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {
                        "endpoint": env("PRODTEL_OTLP_GRPC_ENDPOINT"),
                        "max_recv_msg_size_mib": MAX_REQUEST_MIB,
                    },
                    "http": {
                        "endpoint": env("PRODTEL_OTLP_HTTP_ENDPOINT"),
                        "max_request_body_size": MAX_REQUEST_MIB << 20,
                    },
                }
            }
        },
        "processors": {
            "memory_limiter": {
                "check_interval": "1s",
                "limit_mib": env("PRODTEL_MEMORY_LIMIT_MIB"),
                "spike_limit_mib": env("PRODTEL_MEMORY_SPIKE_MIB"),
            },
            "filter/catalog": {
                "error_mode": "ignore",
                "log_conditions": filter_conditions(catalog),
            },
            "transform/catalog": {
                "error_mode": "ignore",
                "log_statements": transform_groups(catalog),
            },
            "redaction": {
                "allow_all_keys": False,
                "allowed_keys": allowed_keys(catalog),
                "ignored_keys": ignored_keys(catalog),
                "blocked_values": [_lit("|".join(f"(?:{p})" for p in REDACT_PATTERNS))],
                "summary": "silent",
            },
        },
        "connectors": {
            "routing": {
                "error_mode": "ignore",
                "default_pipelines": ["logs/analytics"],
                "table": [
                    {
                        "context": "log",
                        "condition": route_condition(),
                        "pipelines": ["logs/errors"],
                    }
                ],
            }
        },
        "exporters": exporters,
        "extensions": {
            "health_check": {"endpoint": env("PRODTEL_HEALTH_ENDPOINT")},
            QUEUE_STORAGE: {
                "directory": env("PRODTEL_QUEUE_DIR"),
                "create_directory": True,
                "fsync": True,  # a 200 means the record is on disk, not in the page cache
                "compaction": {"on_start": True, "directory": env("PRODTEL_QUEUE_DIR")},
            },
        },
        "service": {
            "extensions": ["health_check", QUEUE_STORAGE],
            "telemetry": {
                "metrics": {
                    "level": "normal",
                    "readers": [
                        {
                            "pull": {
                                "exporter": {
                                    "prometheus": {
                                        "host": env("PRODTEL_METRICS_HOST"),
                                        "port": env("PRODTEL_METRICS_PORT"),
                                    }
                                }
                            }
                        }
                    ],
                }
            },
            "pipelines": {
                "logs": {
                    "receivers": ["otlp"],
                    "processors": [
                        "memory_limiter",
                        "filter/catalog",
                        "transform/catalog",
                        "redaction",
                    ],
                    "exporters": ["routing"],
                },
                "logs/analytics": {
                    "receivers": ["routing"],
                    "exporters": env("PRODTEL_ANALYTICS_EXPORTERS"),
                },
                "logs/errors": {
                    "receivers": ["routing"],
                    "exporters": env("PRODTEL_ERRORS_EXPORTERS"),
                },
            },
        },
    }


def persistent_queue(batch: dict[str, Any] | None = None) -> dict[str, Any]:
    """A sending queue on disk: the receiver answers once the request is written (and fsynced)
    there, so a 200 survives kill -9. No batch processor runs in front (it answers before
    export); batching, where wanted, happens inside the queue. A full queue answers 503 at once
    (block_on_overflow false) and the SDK keeps the records for its next try."""
    q: dict[str, Any] = {
        "enabled": True,
        "storage": QUEUE_STORAGE,
        "wait_for_result": False,  # storage-backed queues refuse true
        "block_on_overflow": False,
        "sizer": "requests",
        "queue_size": env("PRODTEL_QUEUE_SIZE"),
        "num_consumers": 2,
    }
    if batch:
        q["batch"] = batch
    return q


def _file(path: str, max_mb: int) -> dict[str, Any]:
    # The file exporter has no sending queue. With rotation it writes straight to the file (no
    # buffer) before the receiver answers, so a 200 survives a process crash; opened for
    # append, a restart keeps what was written.
    return {
        "path": path,
        "create_directory": True,
        "flush_interval": "1s",
        "rotation": {"max_megabytes": max_mb, "max_backups": 100},
    }


def filter_conditions(catalog: Catalog) -> list[str]:
    """Drop conditions (any true drops the record): another app's records, unknown events."""
    return [
        f"resource.attributes[{_q('service.name')}] != {_q(catalog.app)}",
        f"not ContainsValue({_list(catalog.events)}, log.event_name)",
    ]


def route_condition() -> str:
    return (
        f"log.event_name == {_q(EXCEPTION_EVENT)} or log.attributes[{_q('exception.type')}] != nil"
    )


def transform_groups(catalog: Catalog) -> list[dict[str, Any]]:
    """OTTL statement groups: resource and scope, every record, then one group per event."""
    common = [
        f"keep_keys(resource.attributes, {_list(RESOURCE_KEYS)})",
        f"truncate_all(resource.attributes, {RESOURCE_MAX_BYTES})",
        'delete_matching_keys(scope.attributes, ".*")',
        *_cap("scope.name", SCOPE_MAX_BYTES),
        *_cap("scope.version", SCOPE_MAX_BYTES),
    ]
    uid = _attr(UID)
    records = [
        # The SDK never sends a body; nothing may ride in one.
        'set(log.body, "") where log.body != nil',
        *_cap("log.severity_text", SEVERITY_TEXT_MAX_BYTES),
        f"delete_key(log.attributes, {_q(UID)}) where {uid} != nil"
        f" and not IsMatch({uid}, {_q('^[0-9a-f]{32}$')})",
    ]
    for a in storable(catalog.context):
        records += attr_statements(a)
    groups: list[dict[str, Any]] = [
        {"context": "resource", "statements": common[:2]},
        {"context": "scope", "statements": common[2:]},
        {"context": "log", "statements": records},
    ]
    context = storable(catalog.context)
    for ev in catalog.events.values():
        attrs = storable(ev.attrs)
        keep = [a.name for a in (*attrs, *context)] + [UID]
        statements = [f"keep_keys(log.attributes, {_list(keep)})"]
        for a in attrs:
            statements += attr_statements(a)
        groups.append(
            {
                "context": "log",
                "conditions": [f"log.event_name == {_q(ev.name)}"],
                "statements": statements,
            }
        )
    return groups


_IS = {str: "IsString", int: "IsInt", float: "IsDouble", bool: "IsBool"}


def attr_statements(a: Attr) -> list[str]:
    """Delete a value of the wrong type or outside the enum; cut strings to max_length chars."""
    v = _attr(a.name)
    present = f"{v} != nil"
    out = [f"delete_key(log.attributes, {_q(a.name)}) where {present} and not {_IS[a.type]}({v})"]
    if a.enum is not None:
        out.append(
            f"delete_key(log.attributes, {_q(a.name)}) where {present}"
            f" and not ContainsValue({_list(a.enum)}, {v})"
        )
    elif a.type is str:
        n = a.max_length
        # Bound the bytes first (n characters take at most 4n bytes in UTF-8), then cut to n
        # characters exactly, as the SDK does; the regex only runs on values over n bytes. The
        # first n characters lie whole inside the 4n-byte cut, so no split character survives.
        out.append(
            f"set({v}, Substring({v}, 0, {4 * n})) where {present} and Len({v}) > {4 * n}"
        )
        out.append(
            f"replace_pattern({v}, {_q(_first_chars(n))}, {_q('$1')})"
            f" where {present} and Len({v}) > {n}"
        )
    return out


def storable(attrs: dict[str, Attr]) -> list[Attr]:
    """Declared attributes minus network addresses."""
    return [a for a in attrs.values() if not ADDRESS_KEYS.search(a.name)]


def _all_attrs(catalog: Catalog) -> list[Attr]:
    return storable(catalog.context) + [
        a for e in catalog.events.values() for a in storable(e.attrs)
    ]


def allowed_keys(catalog: Catalog) -> list[str]:
    """Every key the transform can leave: the redaction processor drops the rest (fail closed)."""
    return sorted({*RESOURCE_KEYS, UID, *(a.name for a in _all_attrs(catalog))})


def ignored_keys(catalog: Catalog) -> list[str]:
    """Keys whose values the transform already pinned down (numbers, bools, enum members, the
    hex uid): nothing to mask there, so the redaction's regexes skip them. A name declared
    free-form anywhere is scanned everywhere (the lists are per processor, not per event)."""
    attrs = _all_attrs(catalog)
    pinned = {a.name for a in attrs if a.type is not str or a.enum is not None}
    free = {a.name for a in attrs if a.type is str and a.enum is None}
    return sorted((pinned | {UID}) - free)


def _first_chars(n: int) -> str:
    """A regex whose group 1 is the first n characters of a longer string."""
    parts = [f".{{{_MAX_REPEAT}}}"] * (n // _MAX_REPEAT)
    if n % _MAX_REPEAT:
        parts.append(f".{{{n % _MAX_REPEAT}}}")
    return "(?s)^(" + "".join(parts) + ").+"


def _cap(path: str, n: int) -> list[str]:
    """Cut to n bytes, then drop a character the cut split (its 1-3 stray bytes read as U+FFFD
    to the regex); the collector's Substring has no UTF-8-safe mode at v0.152."""
    return [
        f"set({path}, Substring({path}, 0, {n})) where Len({path}) > {n}",
        f"replace_pattern({path}, {_q(chr(0xFFFD) + '{1,3}$')}, {_q('')}) where Len({path}) == {n}",
    ]


def _attr(name: str) -> str:
    return f"log.attributes[{_q(name)}]"


def _q(value: object) -> str:
    """An OTTL literal: strings double-quoted (JSON escapes are OTTL escapes), ints as is; `$`
    doubled so that the collector's config expansion gives it back (and never expands a
    `${env:...}` that came from a catalog)."""
    return _lit(json.dumps(value))


def _list(values: Iterable[object]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def _lit(text: str) -> str:
    """Escape `$` for the collector's config expansion."""
    return text.replace("$", "$$")


# -- YAML: the little the config needs, so PyYAML is not a dependency. ---------------------------
_PLAIN = re.compile(r"[A-Za-z0-9_./$][A-Za-z0-9_./:${}\[\]-]*")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}
_NUMBER = re.compile(r"[-+]?(\d[\d_]*)?\.?\d*([eE][-+]?\d+)?|0x[0-9a-fA-F]+|0o[0-7]+")


def to_yaml(value: dict[str, Any]) -> str:
    return "".join(_mapping(value, 0))


def _scalar(v: object, flow: bool = False) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    s = str(v)
    plain = (
        _PLAIN.fullmatch(s)
        and s.lower() not in _RESERVED
        and not _NUMBER.fullmatch(s)
        and not (flow and any(c in s for c in "[]{},"))
    )
    if plain:
        return s
    if s.isprintable():
        return "'" + s.replace("'", "''") + "'"
    return json.dumps(s)


def _mapping(d: dict[str, Any], indent: int) -> Iterable[str]:
    pad = " " * indent
    for k, v in d.items():
        key = _scalar(k)
        if isinstance(v, dict) and v:
            yield f"{pad}{key}:\n"
            yield from _mapping(v, indent + 2)
        elif isinstance(v, list) and v:
            if all(not isinstance(x, dict | list) for x in v) and sum(len(str(x)) for x in v) < 60:
                yield f"{pad}{key}: [{', '.join(_scalar(x, flow=True) for x in v)}]\n"
            else:
                yield f"{pad}{key}:\n"
                yield from _sequence(v, indent + 2)
        elif isinstance(v, dict | list):
            yield f"{pad}{key}: {'{}' if isinstance(v, dict) else '[]'}\n"
        else:
            yield f"{pad}{key}: {_scalar(v)}\n"


def _sequence(items: list[Any], indent: int) -> Iterable[str]:
    pad = " " * indent
    for item in items:
        if isinstance(item, dict) and item:
            lines = list(_mapping(item, indent + 2))
            yield pad + "- " + lines[0][indent + 2 :]
            yield from lines[1:]
        elif isinstance(item, list):
            raise TypeError("nested lists are not needed in collector configs")
        else:
            yield f"{pad}- {_scalar(item)}\n"


# -- CLI ------------------------------------------------------------------------------------------
def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `collector-config` to an argparse CLI (the `prodtel` command does)."""
    p = subparsers.add_parser(
        "collector-config",
        help="generate the collector pipeline that enforces a catalog",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    p.add_argument("--catalog", required=True, help="module:ATTR or path/to/file.py:ATTR")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    out.add_argument("--check", metavar="FILE", help="exit 1 if FILE is not what would be written")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from prodtel.cli.main import load_catalog

    text = generate(load_catalog(args.catalog))
    if args.check:
        path = Path(args.check)
        current = path.read_text() if path.exists() else None
        if current == text:
            print(f"{path} is up to date")
            return 0
        import difflib

        why = "does not exist" if current is None else "is stale"
        print(f"{path} {why}: the catalog changed since it was generated.", file=sys.stderr)
        if current is not None:
            diff = difflib.unified_diff(
                current.splitlines(True), text.splitlines(True), str(path), "generated", n=1
            )
            sys.stderr.writelines(list(diff)[:60])
        print(
            f"Regenerate: prodtel collector-config --catalog {args.catalog} --output {path}",
            file=sys.stderr,
        )
        return 1
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m prodtel.collector")
    sub = parser.add_subparsers(dest="cmd")
    register(sub)
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or args_list[0] != "collector-config":
        args_list.insert(0, "collector-config")  # `python -m prodtel.collector --catalog ...`
    args = parser.parse_args(args_list)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
