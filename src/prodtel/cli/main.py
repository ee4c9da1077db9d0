"""The `prodtel` command: the usage page, schema and collector config from a catalog, the
analytics, and the telemetry commands for any app.

    prodtel docs --catalog examples/loadgen/telemetry_catalog.py:CATALOG --output USAGE.md
    prodtel schema --catalog pkg.telemetry:CATALOG --output events.schema.json
    prodtel telemetry --catalog pkg.telemetry:CATALOG status --explain
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from prodtel.catalog_loader import load_catalog

__all__ = ["build_parser", "load_catalog", "main"]
DESCRIPTION = (
    "The usage page, JSON schema and collector config from an app's catalog, the analytics "
    "over what the collector received, and the telemetry commands for any app."
)


def _write_or_check(text: str, output: str | None, check: str | None) -> int:
    if check:
        current = Path(check).read_text() if Path(check).exists() else ""
        if current != text:
            print(
                f"{check} is stale: regenerate it with the same command and --output",
                file=sys.stderr,
            )
            return 1
        print(f"{check} is up to date")
        return 0
    if output:
        Path(output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from prodtel import docs

    text = docs.render(load_catalog(args.catalog))
    return _write_or_check(text, args.output, args.check)


def cmd_schema(args: argparse.Namespace) -> int:
    text = json.dumps(load_catalog(args.catalog).json_schema(), indent=2) + "\n"
    return _write_or_check(text, args.output, args.check)


def cmd_telemetry(args: argparse.Namespace) -> int:
    """`prodtel telemetry --catalog pkg:CATALOG status`: any app's consent, from outside it."""
    import prodtel
    from prodtel.cli.mount import run_argparse

    prodtel.init(load_catalog(args.catalog), args.app_version, show_notice=False)
    return run_argparse(args)


class _InPolicy(argparse.Action):
    """Flags that moved into the catalog's `Policy`: say where, instead of a bare error."""

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        field = {"policy": "default", "opt_out_env": "opt_out_envs"}.get(self.dest, self.dest)
        parser.error(
            f"{self.option_strings[0]} is declared in the catalog now: "
            f"Catalog(..., policy=prodtel.Policy({field}=...)), so the app and its page agree"
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prodtel", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name, fn, help_ in (
        ("docs", cmd_docs, "render the public usage-collection page"),
        ("schema", cmd_schema, "write the JSON schema of the events"),
    ):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--catalog", required=True, help="module:ATTR or file.py:ATTR")
        p.add_argument("--output", help="write here instead of stdout")
        p.add_argument("--check", metavar="FILE", help="fail if FILE differs from the output")
        if name == "docs":
            for moved in ("--command", "--level-env", "--opt-out-env"):
                p.add_argument(moved, action=_InPolicy, help=argparse.SUPPRESS)
        p.set_defaults(func=fn)
    from prodtel.cli.mount import add_argparse

    add_argparse(sub)
    tel = sub.choices["telemetry"]
    tel.add_argument("--catalog", required=True, help="the app's catalog: module:ATTR")
    tel.add_argument("--app-version", default="0", help="the app's version")
    for moved in ("--opt-out-env", "--policy"):
        tel.add_argument(moved, action=_InPolicy, help=argparse.SUPPRESS)
    tel.set_defaults(func=cmd_telemetry)
    for module in ("prodtel.cli.collector", "prodtel.cli.analytics"):
        try:
            importlib.import_module(module).register(sub)
        except (ImportError, AttributeError):
            pass  # an optional part that is not installed
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
