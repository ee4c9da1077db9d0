"""Catalog declarations and validation: strict mode raises naming the field; production drops,
counts, and keeps the rest of the event."""

from __future__ import annotations

import pytest

from prodtel.catalog import Attr, Catalog, CatalogError, Event
from prodtel.validate import Validator

CAT = Catalog(
    "app",
    [
        Event(
            "run",
            "A run.",
            since="0.1.0",
            attrs=[
                Attr("vus", int, "VUs."),
                Attr("duration", float, "Seconds."),
                Attr("name", str, "A name.", max_length=16),
                Attr("ok", bool, "Success."),
                Attr("mode", str, "Mode.", enum=["a", "b"]),
            ],
        ),
    ],
    context=[Attr("is_ci", bool, "CI?")],
)


def strict() -> Validator:
    return Validator(CAT, strict=True, drops={})


def lenient() -> Validator:
    return Validator(CAT, strict=False, drops={})


@pytest.mark.parametrize(
    ("name", "attrs", "message"),
    [
        ("nope", {}, "event 'nope' is not in the app catalog"),
        ("run", {"bogus": 1}, "event 'run': attribute 'bogus' is not declared"),
        ("run", {"vus": "5"}, "event 'run': attribute 'vus': expected integer, got str"),
        ("run", {"vus": True}, "attribute 'vus': expected integer, got bool"),
        ("run", {"ok": 1}, "attribute 'ok': expected boolean, got int"),
        ("run", {"duration": object()}, "attribute 'duration': expected number, got object"),
        ("run", {"duration": float("nan")}, "attribute 'duration': number is not finite"),
        ("run", {"mode": "c"}, "attribute 'mode': 'c' is not one of ['a', 'b']"),
        ("run", {"name": "x" * 1_000_000}, "attribute 'name' is longer than 16 characters"),
    ],
)
def test_strict_mode_raises_naming_event_and_field(name: str, attrs: dict, message: str) -> None:
    with pytest.raises(CatalogError, match=message.replace("[", r"\[").replace("]", r"\]")):
        strict().event(name, attrs)


def test_production_mode_drops_bad_parts_and_keeps_the_rest() -> None:
    v = lenient()
    out = v.event(
        "run",
        {"vus": 5, "duration": 2, "bogus": 1, "ok": "yes", "mode": "c", "name": "x" * 1_000_000},
    )
    assert out == {"vus": 5, "duration": 2.0, "name": "x" * 16}
    assert isinstance(out["duration"], float)
    assert v.drops == {"unknown_attribute": 1, "invalid_attribute": 2, "truncated": 1}
    assert v.event("nope", {"vus": 1}) is None
    assert v.drops["unknown_event"] == 1


def test_context_is_validated_too() -> None:
    with pytest.raises(CatalogError, match="context: attribute 'is_ci': expected boolean"):
        strict().context({"is_ci": "no"})
    assert lenient().context({"is_ci": True, "user": "alice"}) == {"is_ci": True}


def test_builtins_are_part_of_every_catalog() -> None:
    assert {"command", "exception", "TelemetryEnabled", "TelemetryDisabled"} <= set(CAT.events)
    assert "command" not in Catalog("x", [], include_builtins=False)


@pytest.mark.parametrize(
    "build",
    [
        lambda: Catalog("x", [Event("a", ""), Event("a", "")]),
        lambda: Event("bad name", ""),
        lambda: Attr("x", list, ""),  # type: ignore[arg-type]
        lambda: Event("a", "", attrs=[Attr("x", int, ""), Attr("x", str, "")]),
        lambda: Catalog(
            "x", [Event("a", "", attrs=[Attr("c", int, "")])], context=[Attr("c", int, "")]
        ),
    ],
    ids=["duplicate-event", "bad-name", "bad-type", "duplicate-attr", "context-clash"],
)
def test_invalid_declarations_are_rejected(build: object) -> None:
    with pytest.raises(CatalogError):
        build()  # type: ignore[operator]


def test_json_schema_lists_each_event_with_typed_attributes() -> None:
    schema = CAT.json_schema()
    run = next(s for s in schema["oneOf"] if s["title"] == "run")
    props = run["properties"]["attributes"]["properties"]
    assert props["vus"]["type"] == "integer"
    assert props["mode"]["enum"] == ["a", "b"]
    assert props["name"]["maxLength"] == 16
    assert props["is_ci"]["type"] == "boolean"
    assert run["properties"]["attributes"]["additionalProperties"] is False


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_float_attribute_refuses_values_that_are_not_finite(value: float) -> None:
    assert Attr("duration", float, "Seconds.").check(value) == (None, "number is not finite")
    assert Attr("duration", float, "Seconds.").check(1e308) == (1e308, None)
