"""The one pattern table (prodtel.patterns): every example against the SDK's Python form and the
collector's RE2 form (on a real RE2 engine), no drift into the generated collector config, linear
time on crafted worst cases, benign text untouched, line breaks kept."""

from __future__ import annotations

import re
from typing import Any

import pytest

from prodtel.patterns import TABLE, Pattern, luhn, re2_forms
from prodtel.scrub import Scrubber

re2: Any = pytest.importorskip("re2")  # google-re2: the engine family Go's regexp belongs to

S = Scrubber(values={})
IDS = [p.name for p in TABLE]


def _re2(pattern: str) -> Any:
    opts = re2.Options()
    opts.max_mem = 256 << 20  # the whole alternation is large; Go's regexp has no DFA budget
    return re2.compile(pattern, options=opts)


def _step_of(p: Pattern) -> Any:
    from prodtel.scrub import _step

    return _step(p)


@pytest.mark.parametrize("p", TABLE, ids=IDS)
def test_python_form_matches_its_examples(p: Pattern) -> None:
    rx, repl = _step_of(p)
    assert p.matches, f"{p.name}: no examples"
    for text in p.matches:
        assert rx.sub(repl, text) != text, f"{p.name} must match {text!r}"
    for text in p.keeps:
        assert rx.sub(repl, text) == text, f"{p.name} must leave {text!r} alone"


@pytest.mark.parametrize("p", TABLE, ids=IDS)
def test_re2_form_compiles_on_re2_and_matches_its_examples(p: Pattern) -> None:
    if p.re2 is None:
        assert p.no_re2, f"{p.name}: SDK-only patterns say why"
        return
    rx = _re2(p.re2)  # raises on look-around and backreferences
    for text in p.matches:
        assert rx.search(text), f"{p.name} (RE2) must match {text!r}"
    for text in p.keeps:
        # A validated SDK pattern is narrower than its RE2 form (no Luhn in the collector).
        if p.validate is None or (p.name == "card-number" and not _digits_like_card(text)):
            assert not rx.search(text), f"{p.name} (RE2) must leave {text!r} alone"


def _digits_like_card(text: str) -> bool:
    return bool(re.search(r"\d{13,}", text)) and not luhn(text)


def test_re2_forms_have_no_python_only_syntax() -> None:
    for form in re2_forms():
        for python_only in ("(?=", "(?!", "(?<=", "(?<!", "(?P=", "\\Z", "*+", "++", "}+"):
            assert python_only not in form, (python_only, form)


def test_collector_redaction_is_generated_from_the_table() -> None:
    from prodtel.cli.main import load_catalog
    from prodtel.collector_config import config
    from prodtel.collector_config.redaction import redaction_regex
    from tests.support.collector import ROOT

    cat = load_catalog(f"{ROOT}/examples/loadgen/telemetry_catalog.py:CATALOG")
    blocked = config(cat)["processors"]["redaction"]["blocked_values"]
    assert blocked == [redaction_regex().replace("$", "$$")]
    for form in re2_forms():
        assert f"(?:{form})" in redaction_regex()
    _re2(redaction_regex())


def test_luhn() -> None:
    assert luhn("4111 1111 1111 1111") and luhn("378282246310005")
    assert not luhn("4111 1111 1111 1112") and not luhn("1234")


# Inputs built to make a backtracking pattern go quadratic or worse: long runs of the characters
# each pattern loops over, near-misses repeated. A quadratic pattern takes minutes here.
WORST = [
    "a" * 100_000,
    "a=" * 50_000,
    "key=" * 25_000,
    "password" * 12_000,
    "token:" * 16_000,
    "<token>" * 14_000,
    "-u " * 30_000,
    "-u '" + ":" * 100_000,
    '"a:' * 30_000,
    "https://x/" * 10_000,
    "https://x/" + "a/" * 50_000,
    "hooks/" * 15_000,
    "1" * 100_000,
    "1 " * 50_000,
    "+1 " * 30_000,
    "4111 " * 20_000,
    "eyJ" * 30_000 + ".",
    "eyJabcdefghijk.eyJ" * 5_000,
    "t1." + "a" * 100_000,
    " " * 50_000 + "x: " + "A" * 50_000,
    "\n  k: " * 15_000,
    "BUNDLE_" + "A_" * 50_000,
    "<add key='password' value='" * 5_000,
    "-----BEGIN PRIVATE KEY-----" * 3_000,
    "Q~" * 50_000,
    "C:\\Users\\" * 10_000,
    "/home/" * 15_000,
]


@pytest.mark.parametrize("p", TABLE, ids=IDS)
def test_each_pattern_is_linear_on_crafted_worst_cases(p: Pattern) -> None:
    rx, repl = _step_of(p)
    for bad in WORST:
        rx.sub(repl, bad)  # finishes: a super-linear pattern hangs the run instead


BENIGN = [
    "loadgen 0.3.0 on python 3.11.7 (cpython), os 6.1.0-13-amd64",
    "semver 1.2.3-rc.1+build.5 and 1.0.0+20130313144700, v2.0.0-beta.2",
    "at 2026-08-01T12:30:45.123456+02:00 (1785580245123 ms, 1785580245123456789 ns)",
    "timestamp 2026-08-01 12:30:45Z, offset +05:30, UTC+1",
    "installation 6f1c2f9e-8a51-4d43-9a37-0f3f1d2b9c10, event 0123456789abcdef0123456789abcdef",
    "loaded static/app.3f2a9c1b7e4d5a6b.js and "
    "sha256-9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.tar.gz",
    "commit 3f2a9c1b7e4d5a6b8c9d0e1f2a3b4c5d6e7f8a9b, git describe v1.2.3-14-g3f2a9c1",
    'File "/usr/lib/python3.11/json/decoder.py", line 355, in raw_decode',
    "/work/main/src/prodtel/errors.py:120 and ./relative/path/x.py, C:\\Program Files\\App\\x.dll",
    "took 1.5s, 250ms, 3m20s, PT1H30M, 0.000123 s, +1.5s later",
    "listening on localhost:8080, port 5432, :443, [::]:9000",
    "KeyError: 'user_profile_settings'; primary key: 42; key=3; token expired",
    "ValueError: invalid literal for int() with base 10: 'abc'",
    "retry 3/5 after 429 Too Many Requests (limit 1000/min)",
    "x[::2] and std::vector<int> and Foo::bar; a -> b => c",
    "monkey_patch: enabled, hotkey ctrl+shift+p, session started",
    "sort -u names.txt | uniq -c",
    "size 4096 bytes, 1024x768, 99.9% done, 1e-9 tolerance",
    'Traceback (most recent call last):\n  File "x.py", line 3, in <module>\nRuntimeError: boom',
]


def test_benign_text_survives_unchanged() -> None:
    damaged = [(t, S(t)) for t in BENIGN if S(t) != t]
    assert damaged == []


def test_benign_text_survives_the_collector_redaction() -> None:
    from prodtel.collector_config.redaction import redaction_regex

    rx = _re2(redaction_regex())
    # The collector has no IPv6 validation: "[::]" is not matched by its narrower form either.
    damaged = [(t, rx.sub("****", t)) for t in BENIGN if rx.search(t)]
    assert damaged == []


@pytest.mark.parametrize(
    "text",
    [
        "password:\nnext line stays",
        "api_key=\nnext line stays",
        "token: \n  next line stays",
        '"client_secret":\n"next line stays"',
        "<apiToken>\nnext line stays",
    ],
)
def test_a_key_at_the_end_of_a_line_never_takes_the_next_line(text: str) -> None:
    assert S(text).endswith("next line stays" + ('"' if text.endswith('"') else ""))
    assert S(text).count("\n") == text.count("\n")


def test_values_are_redacted_line_by_line() -> None:
    text = "password=hunter2\nuser=bob\napi_key: abc123\n<token>\n  s3cr3t-value\n</token>"
    assert S(text) == (
        "password=<redacted>\nuser=bob\napi_key: <redacted>\n<token>\n  <redacted>\n</token>"
    )


# A secret-named XML element whose value sits on its own line, the breaks real or escaped
# (a repr or a JSON string). The SDK pattern and the collector transform's RE2 form (which puts
# its two groups back around the mask) must both mask the value alone, keeping every break.
XML_ACROSS_LINES = (
    ("<apiToken>\n  abc123\n</apiToken>", "<apiToken>\n  {}\n</apiToken>"),
    (r"'<apiToken>\n  abc123\n</apiToken>'", r"'<apiToken>\n  {}\n</apiToken>'"),
    ("<db_password>\r\n\tC:\\x\\y\r\n</db_password>", "<db_password>\r\n\t{}\r\n</db_password>"),
    ("<keyboard>\n  us\n</keyboard>", None),
)


@pytest.mark.parametrize(("text", "want"), XML_ACROSS_LINES)
def test_xml_element_values_across_lines(text: str, want: str | None) -> None:
    from prodtel.patterns.secrets import XML_ELEMENT_VALUE_RE2

    (p,) = [p for p in TABLE if p.name == "xml-secret-element"]
    sdk = re.sub(p.python, p.replacement, text)
    regex, replacement = XML_ELEMENT_VALUE_RE2
    collector = _re2(regex).sub(replacement.replace("$", "\\"), text)
    assert sdk == (text if want is None else want.format("<redacted>"))
    assert collector == (text if want is None else want.format("****"))
