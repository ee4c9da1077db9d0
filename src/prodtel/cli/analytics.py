"""`prodtel analytics ingest|report|forget`, also `python -m prodtel.analytics ...`.

`register(subparsers)` mounts the `analytics` command on the prodtel CLI's argparse parser;
`main(argv)` runs it on its own. Heavy imports (chDB, clickhouse-connect, rich) happen only
when a command runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any

DB_ENV = "PRODTEL_ANALYTICS_DB"
DEFAULT_DB = "prodtel-analytics"


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add `analytics` (with `ingest` and `report`) to an argparse subparsers object."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "analytics",
        help="load collector output into chDB and report on it",
        description="Product analytics over the collector's output: ingest OTLP/JSON files "
        "into an embedded chDB folder, report from it or from a ClickHouse server.",
    )
    add_commands(p)
    p.set_defaults(func=run)
    return p


def add_commands(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(
        dest="analytics_command", required=True, metavar="{ingest,report,forget}"
    )
    db_help = f"chDB folder (default: ${DB_ENV} or ./{DEFAULT_DB})"

    i = sub.add_parser(
        "ingest",
        help="load file-exporter output (OTLP/JSON lines) into the chDB folder",
        description="Load the collector file exporter's OTLP/JSON lines. Rotated siblings "
        "(name-<timestamp>.jsonl) of a given file are read too; a directory means every "
        "*.jsonl in it. Safe to repeat: only new lines are read and records are "
        "deduplicated by log.record.uid.",
    )
    i.add_argument("paths", nargs="+", type=Path, help="files or directories")
    i.add_argument("--db", type=Path, default=None, help=db_help)
    i.add_argument("--wait", type=float, default=5.0, help="seconds to wait for the folder lock")
    i.add_argument("--json", action="store_true", help="print the result as JSON")
    i.add_argument("--no-progress", action="store_true", help="no progress bar")
    i.add_argument(
        "--retention-days",
        type=_positive_int,
        metavar="N",
        help="keep N days: sets the table's TTL (kept for later ingests; rows older than N days"
        " go at the next merge). Default: the --catalog's retention_days, else keep everything",
    )
    i.add_argument(
        "--catalog",
        metavar="MODULE:ATTR",
        help="the app's catalog: its retention_days (the period its usage page states) sets"
        " the TTL",
    )
    i.set_defaults(analytics_run=_ingest)

    r = sub.add_parser(
        "report",
        help="installations, versions, platforms, opt-outs, durations, crashes",
        description="Run the report SQL on the chDB folder (default) or on a ClickHouse "
        "server (--clickhouse). Dates are UTC days, inclusive; without them the report "
        "covers the --days days ending on the app's last record.",
    )
    r.add_argument("--db", type=Path, default=None, help=db_help)
    r.add_argument(
        "--clickhouse",
        metavar="URL",
        help="a ClickHouse server instead of chDB, e.g. http://user:pass@host:8123/db",
    )
    r.add_argument("--app", help="service.name to report on (default: the only one)")
    r.add_argument("--since", type=dt.date.fromisoformat, help="first day, YYYY-MM-DD")
    r.add_argument("--until", type=dt.date.fromisoformat, help="last day, YYYY-MM-DD")
    r.add_argument("--days", type=int, default=30, help="range length without --since (30)")
    r.add_argument("--run-event", default="usage_report", help="run-summary event (usage_report)")
    r.add_argument("--run-attr", default="duration", help="its duration attribute (duration)")
    r.add_argument(
        "--catalog",
        metavar="MODULE:ATTR",
        help="the app's catalog (module:ATTR or file.py:ATTR): lists unused features and "
        "declares the attributes breakdowns may use",
    )
    r.add_argument(
        "--breakdown",
        action="append",
        metavar="EVENT:ATTR",
        help="break EVENT down by a declared enum/bool attribute, or give p50/p95 of a numeric "
        "one per version (repeatable; default: every such attribute of the catalog)",
    )
    r.add_argument("--json", action="store_true", help="print the report as JSON (stable format)")
    r.add_argument("--html", type=Path, metavar="FILE", help="also write a self-contained page")
    r.add_argument(
        "--public",
        action="store_true",
        help="only aggregates safe to publish: counted sections, no cell from fewer than"
        " --min-installations installations (the --html page too)",
    )
    r.add_argument(
        "--min-installations",
        type=int,
        default=10,
        metavar="K",
        help="with --public: the smallest cohort a published figure may come from (10)",
    )
    r.add_argument("--wait", type=float, default=5.0, help="seconds to wait for the folder lock")
    r.set_defaults(analytics_run=_report)

    f = sub.add_parser(
        "forget",
        help="delete every row of an installation id (deletion requests)",
        description="Delete every analytics row of the given installation ids, and remember "
        "them so rows arriving later go too. Without --installation-id: apply the deletion "
        "requests the SDK sent (TelemetryDeletionRequested), as `ingest` does after each run; "
        "run it on a schedule against a ClickHouse server the collector writes to.",
    )
    f.add_argument(
        "--installation-id", action="append", default=[], metavar="ID", help="repeatable"
    )
    f.add_argument("--db", type=Path, default=None, help=db_help)
    f.add_argument("--clickhouse", metavar="URL", help="a ClickHouse server instead of chDB")
    f.add_argument("--wait", type=float, default=5.0, help="seconds to wait for the folder lock")
    f.add_argument("--json", action="store_true", help="print the result as JSON")
    f.set_defaults(analytics_run=_forget)


def run(args: argparse.Namespace) -> int:
    """Run the parsed `analytics` command; errors become one line on stderr and exit 1."""
    from prodtel.analytics.lock import LockBusy

    try:
        code: int = args.analytics_run(args)
        return code
    except (LockBusy, FileNotFoundError, ValueError) as e:
        print(f"prodtel analytics: error: {e}", file=sys.stderr)
        return 1
    except ImportError as e:
        print(
            f"prodtel analytics: {e.name or e} is missing: pip install 'prodtel[analytics]'",
            file=sys.stderr,
        )
        return 1


def _db(args: argparse.Namespace) -> Path:
    return Path(args.db or os.environ.get(DB_ENV) or DEFAULT_DB)


def _open_backend(args: argparse.Namespace) -> Any:
    """The ClickHouse server of --clickhouse, else the ingested chDB database."""
    if args.clickhouse:
        from prodtel.analytics.backend import ClickHouse

        return ClickHouse(args.clickhouse)
    from prodtel.analytics.backend import Chdb

    if not _db(args).is_dir():
        raise FileNotFoundError(f"{_db(args)} does not exist: run `analytics ingest` first")
    return Chdb(_db(args), wait=args.wait)


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of days >= 1, not {text!r}")
    return n


def _ingest(args: argparse.Namespace) -> int:
    from rich.console import Console

    from prodtel.analytics.backend import Chdb
    from prodtel.analytics.ingest import describe, ingest

    err = Console(stderr=True)
    show = not args.no_progress and not args.json and err.is_terminal
    keep = args.retention_days
    if keep is None and args.catalog:
        from prodtel.catalog_loader import load_catalog

        keep = load_catalog(args.catalog).retention_days
    with Chdb(_db(args), wait=args.wait) as db:
        if show:
            result = _with_progress(err, db, args.paths, keep)
        else:
            result = ingest(db, args.paths, retention_days=keep)
    d = describe(result)
    if args.json:
        print(json.dumps(d, indent=2))
    else:
        print(
            f"ingested {d['inserted']:,} new records from {len(d['files'])} file(s) into "
            f"{_db(args)} in {d['seconds']:.2f}s ({d['duplicates']:,} duplicates skipped)"
        )
        for missed in _errors_files_left_out([f.path for f in result.files]):
            print(
                f"note: {missed} holds the exception records (the collector routes them there);"
                " ingest it too for crash figures",
                file=sys.stderr,
            )
    return 0


def _errors_files_left_out(read: list[Path]) -> list[Path]:
    """The collector's errors.jsonl next to an ingested file, when it was not ingested."""
    dirs = {p.parent.resolve() for p in read}
    done = {p.resolve() for p in read}
    return sorted(
        d / "errors.jsonl"
        for d in dirs
        if (d / "errors.jsonl").exists() and (d / "errors.jsonl").resolve() not in done
    )


def _with_progress(err: Any, db: Any, paths: list[Path], retention_days: int | None) -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from prodtel.analytics.ingest import expand, ingest

    files = expand(paths)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        tasks = {f.name: bar.add_task(f"ingest {f.name}", total=1.0) for f in files}

        def on_progress(name: str, fraction: float) -> None:
            bar.update(tasks[name], completed=fraction)

        return ingest(db, files, on_progress, retention_days)


def _report(args: argparse.Namespace) -> int:
    from prodtel.analytics import report

    catalog = None
    if args.catalog:
        from prodtel.catalog_loader import load_catalog

        catalog = load_catalog(args.catalog)
    backend = _open_backend(args)
    try:
        r = report.build(
            backend,
            app=args.app,
            start=args.since,
            end=args.until,
            days=args.days,
            run_event=args.run_event,
            run_attr=args.run_attr,
            catalog=catalog,
            breakdowns=args.breakdown,
        )
    finally:
        backend.close()
    if args.public:
        from prodtel.analytics import public

        p = public.build(r, args.min_installations)
        if args.html:
            args.html.write_text(public.render_html(p), encoding="utf-8")
            print(f"wrote {args.html}", file=sys.stderr)
        print(json.dumps(p, indent=2) if args.json else public.render_text(p))
        return 0
    if args.html:
        from prodtel.analytics import html

        args.html.write_text(html.render(r), encoding="utf-8")
        print(f"wrote {args.html}", file=sys.stderr)
    if args.json:
        print(json.dumps(r, indent=2))
    else:
        from prodtel.analytics import terminal

        terminal.render(r)
    return 0


def _forget(args: argparse.Namespace) -> int:
    from prodtel.analytics import deletion

    backend = _open_backend(args)
    try:
        if args.installation_id:
            result = deletion.forget(backend, args.installation_id)
        else:
            result = deletion.apply(backend)
    finally:
        backend.close()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        ids = result["installations"]
        print(
            f"deleted {result['rows']:,} rows; installations forgotten now: "
            f"{', '.join(ids) if ids else 'none'}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m prodtel.analytics")
    add_commands(p)
    return run(p.parse_args(argv))
