"""The `telemetry` commands an app mounts with one call, and the `prodtel` CLI.

    # argparse
    sub = parser.add_subparsers(dest="cmd")
    prodtel.cli.add_argparse(sub)            # adds `telemetry status|enable|disable|...`
    ...
    if args.cmd == "telemetry":
        return prodtel.cli.run_argparse(args)

    # click:  cli.add_command(prodtel.cli.click_group())
    # typer:  app.add_typer(prodtel.cli.typer_app(), name="telemetry")

Each command acts on the app's telemetry set up by `prodtel.init()`.
"""

from __future__ import annotations

from prodtel.cli.mount import add_argparse, click_group, run_argparse, typer_app

__all__ = ["add_argparse", "click_group", "run_argparse", "typer_app"]
