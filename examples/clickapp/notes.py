"""notes: a tiny click app with prodtel, for the README's testing example."""

import click

import prodtel
import prodtel.cli
from prodtel import Attr, Catalog, Event

CATALOG = Catalog(
    "notes",
    [
        Event(
            "note_added",
            "A note was added.",
            since="1.0.0",
            attrs=[Attr("words", int, "How many words the note has.")],
        ),
    ],
)


@click.group()
@click.option("--no-usage-report", is_flag=True, help="Send no anonymous usage report.")
def cli(no_usage_report: bool) -> None:
    prodtel.init(
        CATALOG,
        version="1.0.0",
        endpoint="https://telemetry.example.invalid",
        cli_opt_out=no_usage_report,
    )


@cli.command()
@click.argument("text")
def add(text: str) -> None:
    prodtel.track("note_added", words=len(text.split()))
    click.echo("added")


cli.add_command(prodtel.cli.click_group())
