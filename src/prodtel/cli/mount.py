"""Mount the `telemetry` commands into an app's argparse, click or typer CLI."""

from __future__ import annotations

import enum
import json
import sys
from typing import TYPE_CHECKING, Any

from prodtel.cli import commands

if TYPE_CHECKING:
    import argparse

    import click
    import typer

    from prodtel.telemetry import Telemetry

COMMANDS = ("status", "enable", "disable", "show", "pending", "reset-id", "catalog")
LEVELS = ["crash", "error", "all", "local"]
# One help text per option, so argparse, click and typer say the same.
_OPT_HELP = {
    "json": "machine-readable output",
    "explain": "show every consent source",
    "level": "what to send: crash reports, also handled errors, all usage, or all kept on this"
    " machine and never sent (local)",
    "delete": "also ask for the data already sent under the installation id to be deleted",
    "n": "how many events",
}


def _telemetry() -> Telemetry:
    import prodtel

    t = prodtel.current()
    if t is None:
        raise RuntimeError("call prodtel.init() before running a telemetry command")
    return t


def execute(
    cmd: str,
    *,
    as_json: bool = False,
    explain: bool = False,
    level: str = "all",
    n: int = 20,
    delete: bool = False,
) -> int:
    """Run one telemetry command and print its result. Returns the exit code. Never a
    traceback: whatever breaks is one line on stderr and exit code 1."""
    try:
        return _execute(cmd, as_json=as_json, explain=explain, level=level, n=n, delete=delete)
    except Exception as e:
        print(f"error: telemetry {cmd} failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 1


def _execute(
    cmd: str, *, as_json: bool, explain: bool, level: str, n: int, delete: bool = False
) -> int:
    t = _telemetry()
    t.notice_due = False  # a telemetry command is the user's answer: never print the notice
    data: Any
    if cmd == "status":
        data = commands.status(t, explain=explain)
        text = commands.render_status(data)
    elif cmd == "enable":
        try:
            data = commands.enable(t, level)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        text = f"{t.settings.app} telemetry enabled at level {data['level']}" + (
            f" ({data['note']})" if "note" in data else ""
        )
        if data["level"] == "local":
            text += (
                ": everything is recorded and kept on this machine, nothing is sent."
                f" See it with `{t.settings.command} telemetry show`."
            )
    elif cmd == "disable":
        data = commands.disable(t, delete=delete)
        text = (
            f"{t.settings.app} telemetry disabled. Nothing recorded from now on will be "
            f"sent; earlier records: {data['pending'].replace('_', ' ')}."
        )
        if delete:
            text += "\n" + commands.deletion_text(t.settings.app, data)
    elif cmd == "show":
        data = commands.show(t, n)
        text = commands.render(data)
    elif cmd == "pending":
        data = commands.pending(t)
        text = commands.render(data)
    elif cmd == "catalog":
        from prodtel import catalog_view

        data = commands.catalog(t)
        text = catalog_view.render(data)
    elif cmd == "reset-id":
        data = commands.reset_id(t, delete=delete)
        text = f"new installation id: {data['installation_id']}"
        if delete:
            text = commands.deletion_text(t.settings.app, data)
    else:
        print(f"error: unknown telemetry command {cmd!r}", file=sys.stderr)
        return 2
    print(json.dumps(data, indent=2, sort_keys=True, default=str) if as_json else text)
    return 0


# -- argparse ------------------------------------------------------------------------------------
def add_argparse(subparsers: argparse._SubParsersAction[Any], name: str = "telemetry") -> None:
    """Add `<name> status|enable|disable|show|pending|reset-id` to an argparse CLI."""
    from prodtel import notice

    notice.MOUNTED.add(name)
    p = subparsers.add_parser(name, help="see and control anonymous usage reporting")
    sub = p.add_subparsers(dest="telemetry_cmd", required=True)
    for cmd in COMMANDS:
        c = sub.add_parser(cmd, help=_HELP[cmd])
        c.add_argument("--json", action="store_true", help=_OPT_HELP["json"])
        if cmd == "status":
            c.add_argument("--explain", action="store_true", help=_OPT_HELP["explain"])
        if cmd == "enable":
            c.add_argument("--level", choices=LEVELS, default="all", help=_OPT_HELP["level"])
        if cmd == "show":
            c.add_argument("-n", type=int, default=20, help=_OPT_HELP["n"])
        if cmd in ("disable", "reset-id"):
            c.add_argument("--delete", action="store_true", help=_OPT_HELP["delete"])


def run_argparse(args: argparse.Namespace) -> int:
    return execute(
        args.telemetry_cmd,
        as_json=args.json,
        explain=getattr(args, "explain", False),
        level=getattr(args, "level", "all"),
        n=getattr(args, "n", 20),
        **({"delete": args.delete} if hasattr(args, "delete") else {}),
    )


_HELP = {
    "status": "is telemetry on, and why",
    "enable": "turn telemetry on (optionally at a lower level)",
    "disable": "turn telemetry off",
    "show": "the last events actually sent",
    "pending": "what is recorded and not sent yet",
    "reset-id": "make a new anonymous installation id",
    "catalog": "every event the app can send, with each attribute's type and meaning",
}


# -- click ---------------------------------------------------------------------------------------
def click_group(name: str = "telemetry") -> click.Group:
    """A click group with the telemetry commands: `cli.add_command(click_group())`."""
    import click

    from prodtel import notice

    notice.MOUNTED.add(name)

    @click.group(name=name, help="See and control anonymous usage reporting.")
    def group() -> None:
        pass

    json_opt = click.option("--json", "as_json", is_flag=True, help=_OPT_HELP["json"])

    @group.command(help=_HELP["status"])
    @json_opt
    @click.option("--explain", is_flag=True, help=_OPT_HELP["explain"])
    def status(as_json: bool, explain: bool) -> None:
        sys.exit(execute("status", as_json=as_json, explain=explain))

    @group.command(help=_HELP["enable"])
    @json_opt
    @click.option("--level", type=click.Choice(LEVELS), default="all", help=_OPT_HELP["level"])
    def enable(as_json: bool, level: str) -> None:
        sys.exit(execute("enable", as_json=as_json, level=level))

    delete_opt = click.option("--delete", is_flag=True, help=_OPT_HELP["delete"])

    @group.command(help=_HELP["disable"])
    @json_opt
    @delete_opt
    def disable(as_json: bool, delete: bool) -> None:
        sys.exit(execute("disable", as_json=as_json, delete=delete))

    @group.command(help=_HELP["show"])
    @json_opt
    @click.option("-n", default=20, help=_OPT_HELP["n"])
    def show(as_json: bool, n: int) -> None:
        sys.exit(execute("show", as_json=as_json, n=n))

    @group.command(help=_HELP["pending"])
    @json_opt
    def pending(as_json: bool) -> None:
        sys.exit(execute("pending", as_json=as_json))

    @group.command(name="reset-id", help=_HELP["reset-id"])
    @json_opt
    @delete_opt
    def reset_id(as_json: bool, delete: bool) -> None:
        sys.exit(execute("reset-id", as_json=as_json, delete=delete))

    @group.command(name="catalog", help=_HELP["catalog"])
    @json_opt
    def catalog(as_json: bool) -> None:
        sys.exit(execute("catalog", as_json=as_json))

    return group


class _Level(enum.StrEnum):  # typer shows an Enum as a choice: [crash|error|all|local]
    crash = "crash"
    error = "error"
    all = "all"
    local = "local"


# -- typer ---------------------------------------------------------------------------------------
def typer_app(name: str = "telemetry") -> typer.Typer:
    """A typer app with the telemetry commands: `app.add_typer(typer_app(), name="telemetry")`
    (pass the same `name` to both if you mount it under another one)."""
    from prodtel import notice

    notice.MOUNTED.add(name)
    import typer

    app = typer.Typer(help="See and control anonymous usage reporting.", no_args_is_help=True)
    json_opt = typer.Option(False, "--json", help=_OPT_HELP["json"])

    level_opt = typer.Option(_Level.all, "--level", help=_OPT_HELP["level"])
    delete_opt = typer.Option(False, "--delete", help=_OPT_HELP["delete"])

    @app.command(help=_HELP["status"])
    def status(
        json: bool = json_opt,
        explain: bool = typer.Option(False, "--explain", help=_OPT_HELP["explain"]),
    ) -> None:
        raise typer.Exit(execute("status", as_json=json, explain=explain))

    @app.command(help=_HELP["enable"])
    def enable(json: bool = json_opt, level: _Level = level_opt) -> None:
        raise typer.Exit(execute("enable", as_json=json, level=level.value))

    @app.command(help=_HELP["disable"])
    def disable(json: bool = json_opt, delete: bool = delete_opt) -> None:
        raise typer.Exit(execute("disable", as_json=json, delete=delete))

    @app.command(help=_HELP["show"])
    def show(json: bool = json_opt, n: int = typer.Option(20, "-n", help=_OPT_HELP["n"])) -> None:
        raise typer.Exit(execute("show", as_json=json, n=n))

    @app.command(help=_HELP["pending"])
    def pending(json: bool = json_opt) -> None:
        raise typer.Exit(execute("pending", as_json=json))

    @app.command(name="reset-id", help=_HELP["reset-id"])
    def reset_id(json: bool = json_opt, delete: bool = delete_opt) -> None:
        raise typer.Exit(execute("reset-id", as_json=json, delete=delete))

    @app.command(name="catalog", help=_HELP["catalog"])
    def catalog(json: bool = json_opt) -> None:
        raise typer.Exit(execute("catalog", as_json=json))

    return app
