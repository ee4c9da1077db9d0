"""The public "usage collection" page, rendered from the catalog (like k6's and k6 Studio's),
with a changelog per version from the catalog's `since` fields, and the JSON schema.

    prodtel docs --catalog examples/loadgen/telemetry_catalog.py:CATALOG --output USAGE.md
    (the opt-outs it names come from the catalog's `Policy`, the one `prodtel.init()` reads)
    prodtel docs --catalog ... --check USAGE.md     # fails when the committed page is stale
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prodtel._builtins import COMMAND, DELETION, DISABLED, ENABLED, EXCEPTION
from prodtel.versions import version_key

if TYPE_CHECKING:
    from prodtel.catalog import Attr, Catalog, Event

RESOURCE_FIELDS = [
    ("service.name", "The application's name", "`{app}`"),
    ("service.version", "The application's version", "`1.4.0`"),
    ("os.type", "The operating system", "`linux`, `darwin`, `windows`"),
    ("os.version", "The operating system's version", "`6.1.0`"),
    ("host.arch", "The processor architecture", "`amd64`, `arm64`"),
    ("process.runtime.name/version", "The Python implementation and version", "`cpython 3.12.1`"),
    ("app.installation.id", "A random id made on first use, stored on your machine", "a UUID"),
    ("session.id", "A random id per run of the program", "32 hex characters"),
]
BUILTINS = (COMMAND, ENABLED, DISABLED, EXCEPTION, DELETION)
_AGENT = {
    "send": "",
    "suppress": " Nothing is sent from runs driven by AI coding agents.",
    "tag": " Reports sent from runs driven by AI coding agents say so (`prodtel.agent`).",
}
_CI = {
    "send": "",
    "suppress": " Nothing is sent from CI systems.",
    "tag": " Reports sent from CI systems say so (`prodtel.ci`).",
}


def _payload(e: Event, context: dict[str, Attr]) -> str:
    parts = []
    for a in e.attrs.values():
        enum = f" (one of {', '.join(f'`{v}`' for v in a.enum)})" if a.enum else ""
        parts.append(f"`{a.name}` ({a.type_name}): {a.description}{enum}")
    return "<br>".join(parts) or ""


def _spans(catalog: Catalog) -> list[str]:
    """The spans section: only when the catalog declares spans."""
    if not catalog.spans:
        return []
    rows = []
    for sp in catalog.spans.values():
        names = ", ".join(f"`{n}`" for n in sp.names)
        attrs = "<br>".join(
            f"`{a.name}` ({a.type_name}): {a.description}" for a in sp.attrs.values()
        )
        rows.append(f"| `{sp.name}` | {sp.description} | {names} | {attrs} | {sp.since or ''} |")
    return [
        "## Spans",
        "",
        "Timed operations (OpenTelemetry spans), sent under the name below with only the "
        "listed attributes, their error events (type, message and stack trace, scrubbed) and "
        "whether they failed. Spans of any other name are never sent.",
        "",
        "| Span | Description | Recorded from | Attributes | Since |",
        "| --- | --- | --- | --- | --- |",
        *rows,
        "",
    ]


def _first_run(cmd: str, level_env: str, notice: str, default: str) -> list[str]:
    if default == "opt-in" or notice == "never":
        return [
            "## Nothing is sent until you turn it on",
            "",
            f"Nothing is sent until you run `{cmd} telemetry enable` or set `{level_env}=all`.",
        ]
    if notice == "always":
        where = (
            "The first time it runs, it prints a notice about this on stderr, also when no "
            "terminal is attached (CI, containers, scripts), and that run sends nothing."
        )
    else:
        where = (
            "The first time it runs on a terminal, it prints a notice about this, and nothing is "
            "sent until the notice has been shown. A program that never runs on a terminal (CI, "
            f"containers, scripts) therefore sends nothing, and `{cmd} telemetry status` says why."
        )
    return [
        "## The first-run notice",
        "",
        f"{where} To turn it on without the notice, run `{cmd} telemetry enable` or set "
        f"`{level_env}=all`.",
    ]


def your_data(catalog: Catalog, cmd: str) -> list[str]:
    """Looking before agreeing, deletion and retention: what a user can do about their data."""
    days = catalog.retention_days
    kept = (
        f"Reports are kept for {days} days after they arrive, then deleted automatically."
        if days
        else "The authors have not declared a retention period: reports are kept until they "
        "delete them."
    )
    version = catalog.policy.consent_version
    return [
        "## Your data: look first, delete, retention",
        "",
        f"- `{cmd} telemetry enable --level local` records everything that would be sent and "
        f"keeps it on your machine, sending nothing: look at it with `{cmd} telemetry show` "
        f"before you agree. `{cmd} telemetry catalog` lists every event and field the program "
        "can send.",
        f"- `{cmd} telemetry status` shows your installation id (`install id`), the random id "
        "your reports carry.",
        f"- `{cmd} telemetry disable --delete` turns telemetry off and asks for every usage "
        f"report of that id to be deleted; `{cmd} telemetry reset-id --delete` asks the same and "
        "goes on under a new id. The request is sent although telemetry is then off (it is "
        "your explicit request) and retried by later runs until it arrives.",
        "- Deletion covers the usage analytics. Crash and error reports already in an error "
        "tracker (a Sentry backend) are not covered: ask the authors to delete those.",
        f"- {kept}",
        *(
            [
                f"- Consent version {version}: when the program starts collecting new kinds of "
                "data, the authors raise it and the first-run notice shows again."
            ]
            if version > 1
            else []
        ),
    ]


def render(catalog: Catalog) -> str:
    """The page, from the catalog and its `policy` (the same one `prodtel.init()` reads)."""
    app = catalog.app
    p = catalog.policy
    cmd = p.command or app
    own = [e for e in catalog.events.values() if e.name not in BUILTINS]
    builtin = [e for e in catalog.events.values() if e.name in BUILTINS]
    ctx = catalog.context
    out = [
        "# Usage collection",
        "",
        f"<!-- Generated by `prodtel docs` from the {app} catalog. Do not edit by hand. -->",
        "",
        f"{app} sends anonymous usage reports, and crash reports when you allow them, so that "
        "its authors can see which features are used, on which systems, and what breaks. The "
        "reports never contain anything about you or your work: no names, paths, arguments, "
        "host names or environment values.",
        "",
        "## How to opt out",
        "",
        f"- Run `{cmd} telemetry disable` (and `{cmd} telemetry enable` to opt back in).",
        f"- Or set `{p.level_env}=off` (or `crash` / `error` to send only crash or error reports,"
        " or `local` to keep everything on your machine).",
        *[f"- Or set `{v}=1`." for v in p.opt_out_envs or ()],
        f"- Or pass `{p.cli_flag}` on the command line.",
        "- Or set `DO_NOT_TRACK=1`, which every prodtel-based tool honours.",
        "",
        f"An opt-out always wins. `{cmd} telemetry status --explain` shows whether telemetry is on "
        f"and which setting decided it; `{cmd} telemetry show` lists the last events actually "
        f"sent.{_CI[p.ci]}{_AGENT[p.agent]}",
        "",
        *_first_run(cmd, p.level_env or "", p.notice, p.default),
        "",
        *your_data(catalog, cmd),
        "",
        "## What every report carries",
        "",
        "| Field | What | Example |",
        "| --- | --- | --- |",
        *[f"| `{k}` | {d} | {ex.format(app=app)} |" for k, d, ex in RESOURCE_FIELDS],
        "| timestamp | When the event happened | `2026-10-22T16:02:56.261Z` |",
    ]
    if ctx:
        out += ["", "Every event also includes:", ""]
        out += [f"- `{a.name}` ({a.type_name}): {a.description}" for a in ctx.values()]
    out += [
        "",
        "## Events",
        "",
        "| Event name | Description | Event payload | Since |",
        "| --- | --- | --- | --- |",
        *[f"| `{e.name}` | {e.description} | {_payload(e, ctx)} | {e.since or ''} |" for e in own],
        "",
        "Sent by prodtel itself:",
        "",
        "| Event name | Description | Event payload |",
        "| --- | --- | --- |",
        *[f"| `{e.name}` | {e.description} | {_payload(e, ctx)} |" for e in builtin],
        "",
        *_spans(catalog),
        "## Changelog",
        "",
    ]
    changes: dict[str, list[str]] = {}
    for e in own:
        if e.since:
            changes.setdefault(e.since, []).append(f"- Added event `{e.name}`.")
        for a in e.attrs.values():
            if a.since and a.since != e.since:
                changes.setdefault(a.since, []).append(f"- Added `{a.name}` to `{e.name}`.")
    for sp in catalog.spans.values():
        if sp.since:
            changes.setdefault(sp.since, []).append(f"- Added span `{sp.name}`.")
    for a in ctx.values():
        if a.since:
            changes.setdefault(a.since, []).append(f"- Added `{a.name}` to every event.")
    for version in sorted(changes, key=version_key, reverse=True):
        out += [f"### {version}", "", *changes[version], ""]
    return "\n".join(out).rstrip() + "\n"
