"""`prodtel collector-config`: write or check the collector config generated from a catalog.

    prodtel collector-config --catalog examples/loadgen/telemetry_catalog.py:CATALOG \\
        --output collector-config/loadgen.yaml
    prodtel collector-config --catalog ... --check collector-config/loadgen.yaml
    prodtel collector-config --catalog a:CATALOG --catalog b:CATALOG --output shared.yaml
    python -m prodtel.cli.collector --catalog ... --output FILE     # the same, standalone
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

_DESCRIPTION = "Generate the collector pipeline that enforces an app's catalog server-side."


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `collector-config` to an argparse CLI (the `prodtel` command does)."""
    p = subparsers.add_parser(
        "collector-config",
        help="generate the collector pipeline that enforces a catalog",
        description=_DESCRIPTION,
    )
    p.add_argument(
        "--catalog",
        required=True,
        action="append",
        help="module:ATTR or path/to/file.py:ATTR; repeat it to serve several apps with one"
        " collector (each app's records are held to its own catalog by service.name)",
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    out.add_argument("--check", metavar="FILE", help="exit 1 if FILE is not what would be written")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from prodtel.catalog_loader import load_catalog
    from prodtel.collector_config import generate

    try:
        catalogs = [load_catalog(c) for c in args.catalog]
        apps = [c.app for c in catalogs]
        if len(set(apps)) < len(apps):
            dup = sorted({a for a in apps if apps.count(a) > 1})
            print(f"two catalogs for the same app: {', '.join(dup)}", file=sys.stderr)
            return 2
        text = generate(catalogs)
    except ImportError as e:
        if e.name != "yaml":
            raise
        print(
            "prodtel collector-config needs PyYAML: pip install 'prodtel[collector]'",
            file=sys.stderr,
        )
        return 1
    if args.check:
        path = Path(args.check)
        current = path.read_text(encoding="utf-8") if path.exists() else None
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
            "Regenerate: prodtel collector-config "
            + " ".join(f"--catalog {c}" for c in args.catalog)
            + f" --output {path}",
            file=sys.stderr,
        )
        return 1
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m prodtel.cli.collector")
    sub = parser.add_subparsers(dest="cmd")
    register(sub)
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or args_list[0] != "collector-config":
        args_list.insert(0, "collector-config")  # `python -m prodtel.cli.collector --catalog ...`
    args = parser.parse_args(args_list)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
