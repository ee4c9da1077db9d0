"""Shared by the bench scenarios: the catalog and the event every SDK sends."""

from __future__ import annotations

import os
import sys

EVENT = "script_exported"
ATTRS = {"rules": 3, "format": "js", "name": "abc", "ok": True, "dur": 1.5}


def catalog():  # type: ignore[no-untyped-def]
    from prodtel import Attr, Catalog, Event

    return Catalog(
        "benchapp",
        [
            Event(
                EVENT,
                "An export.",
                attrs=[
                    Attr("rules", int, ""),
                    Attr("format", str, "", enum=["js", "json"]),
                    Attr("name", str, ""),
                    Attr("ok", bool, ""),
                    Attr("dur", float, ""),
                ],
            )
        ],
    )


def endpoint() -> str:
    return os.environ.get("BENCH_ENDPOINT", "http://127.0.0.1:9")


def arg(i: int, default: str) -> str:
    return sys.argv[i] if len(sys.argv) > i else default
