"""What loadgen reports and how users opt out, declared once. `prodtel.init()` and `prodtel docs`
(the public page) both read this, so the page names exactly the opt-outs loadgen honours."""

from prodtel import Attr, Catalog, Event, Policy

VERSION = "0.3.0"

CATALOG = Catalog(
    app="loadgen",
    docs_url="https://example.invalid/loadgen/usage-collection",
    policy=Policy(opt_out_envs=["LOADGEN_NO_USAGE_REPORT"], cli_flag="--no-usage-report"),
    context=[
        Attr("is_ci", bool, "Whether the run happens in a CI system.", since="0.2.0"),
    ],
    events=[
        Event(
            "usage_report",
            "Sent once per run, when the test ends. Modelled on k6's usage report.",
            since="0.1.0",
            attrs=[
                Attr("vus_max", int, "Max VUs configured."),
                Attr("iterations", int, "VU iterations configured."),
                Attr("duration", float, "Test duration in seconds."),
                Attr("st_duration", float, "Total stages duration in seconds."),
                Attr(
                    "executor",
                    str,
                    "How iterations are scheduled.",
                    enum=["shared-iterations", "constant-vus"],
                    since="0.2.0",
                ),
            ],
        ),
        Event(
            "script_exported",
            "A test script was exported.",
            since="0.3.0",
            attrs=[Attr("format", str, "The export format.", enum=["js", "json"])],
        ),
    ],
)
