"""The `prodtel` command: docs and schema from a catalog, the collector config, analytics,
and the telemetry commands for any app.

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

from prodtel.catalog_loader import load_catalog

__all__ = ["build_parser", "load_catalog", "main"]


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

    catalog = load_catalog(args.catalog)
    text = docs.render(
        catalog,
        command=args.command,
        level_env=args.level_env,
        opt_out_envs=tuple(args.opt_out_env or ()),
        notice=args.notice,
    )
    return _write_or_check(text, args.output, args.check)


def cmd_schema(args: argparse.Namespace) -> int:
    text = json.dumps(load_catalog(args.catalog).json_schema(), indent=2) + "\n"
    return _write_or_check(text, args.output, args.check)


def cmd_telemetry(args: argparse.Namespace) -> int:
    """`prodtel telemetry --catalog pkg:CATALOG status`: any app's consent, from outside it."""
    import prodtel
    from prodtel.cli.mount import run_argparse

    prodtel.init(
        load_catalog(args.catalog),
        args.app_version,
        show_notice=False,
        opt_out_envs=args.opt_out_env,
        policy=args.policy,
        notice=args.notice,
    )
    return run_argparse(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prodtel", description=__doc__.splitlines()[0])
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
            p.add_argument("--command", help="the app's command name (default: the app name)")
            p.add_argument("--level-env", help="the app's level env var")
            p.add_argument("--opt-out-env", action="append", help="an opt-out env var")
            p.add_argument(
                "--notice",
                choices=["tty", "always"],
                default="tty",
                help="the app's notice= setting: the notice only on a terminal, or always",
            )
        p.set_defaults(func=fn)
    from prodtel.cli.mount import add_argparse

    add_argparse(sub)
    tel = sub.choices["telemetry"]
    tel.add_argument("--catalog", required=True, help="the app's catalog: module:ATTR")
    tel.add_argument("--app-version", default="0", help="the app's version")
    tel.add_argument("--opt-out-env", action="append", help="an opt-out env var of the app")
    tel.add_argument("--policy", choices=["opt-out", "opt-in"], default="opt-out")
    tel.add_argument(
        "--notice", choices=["tty", "always"], default="tty", help="the app's notice= setting"
    )
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
