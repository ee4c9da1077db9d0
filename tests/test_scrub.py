"""The Scrubber on its own: each rule, its limits (what it must leave alone), extension points."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prodtel import scrub
from prodtel.scrub import Scrubber, machine_values
from tests.support import regex_needs

VALUES = {
    "home": "/home/alice-smith",
    "user": "alice-smith",
    "host": "alice-laptop.fritz.box",
    "host_short": "alice-laptop",
}
S = Scrubber(values=VALUES)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # this machine's home, user and host
        ('File "/home/alice-smith/app/x.py", line 3', 'File "~/app/x.py", line 3'),
        ("cwd=/home/alice-smith", "cwd=~"),
        ("ALICE-SMITH@alice-laptop: denied", "<user>@<host>: denied"),
        ("resolving alice-laptop.fritz.box", "resolving <host>"),
        ("alice-smith's files", "<user>'s files"),
        # anyone else's home, on any OS, also as a repr with doubled backslashes
        ("/home/bob/.ssh/id_rsa", "~/.ssh/id_rsa"),
        ("/Users/carol/Library/x", "~/Library/x"),
        (r"C:\Users\dave\AppData\x", r"~\AppData\x"),
        (r"'C:\\Users\\dave\\x.txt'", r"'~\\x.txt'"),
        ("C:/Users/dave/x", "~/x"),
        # installed packages: relative module paths
        ("/usr/lib/python3/dist-packages/foo/bar.py", "foo/bar.py"),
        ('File "/opt/venv/lib/python3.11/site-packages/req/api.py"', 'File "req/api.py"'),
        # credentials and tokens
        ("https://bob:hunter2@db.example.com/x", "https://<credentials>@db.example.com/x"),
        ("https://bob:p@ss@db.example.com/x", "https://<credentials>@db.example.com/x"),
        ("ssh://git@host/x", "ssh://<credentials>@host/x"),
        ("Authorization: Bearer abcdefghijklmnop", "Authorization: Bearer <token>"),
        ("key AKIAIOSFODNN7EXAMPLE", "key <aws-key>"),
        ("ghp_" + "a" * 36, "<github-token>"),
        ("xoxb-1234567890-abcdef", "<slack-token>"),
        ("sk_live_" + "a1" * 12, "<api-key>"),
        ("AIza" + "B" * 35, "<api-key>"),
        ("glpat-" + "x" * 20, "<gitlab-token>"),
        ("password=hunter2; user=x", "password=<redacted>; user=x"),
        ('{"client_secret": "s3cr3t"}', '{"client_secret": "<redacted>"}'),
        ("X-Auth-Token: abc", "X-Auth-Token: <redacted>"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlX3gx", "<jwt>"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "<private-key>"),
        ("-----BEGIN PRIVATE KEY-----\nMIIE cut off", "<private-key>"),
        ("unknown vendor key Zx8Qw2Er5Ty7Ui9Op1As3Df4Gh6Jk0Lm", "unknown vendor key <secret>"),
        # addresses
        ("mail bob.jones+x@mail.example.co.uk now", "mail <email> now"),
        ("from 192.168.1.20:8080", "from <ip>:8080"),
        ("peer 2001:db8::7 and [2001:db8::1]:443.", "peer <ip> and [<ip>]:443."),
        ("at 2001:db8::7.", "at <ip>."),
        ("link fe80::1ff:fe23:4567:890a%eth0", "link <ip>"),
        ("nic 00:1a:2b:3c:4d:5e", "nic <mac>"),
        # webhooks, cards, phones; a home path in brackets keeps its bracket
        (
            "post https://hooks.slack.com/services/T0D/B0D/bJtrpFi1fO1JMCcw now",
            "post <slack-webhook> now",
        ),
        ("https://discord.com/api/webhooks/1234567/AbCdEf-gh_IJklmn", "<webhook>"),
        ("https://ci.example.org/hooks/9f8e7d6c5b4a39281706 failed", "<webhook> failed"),
        ("card 4111 1111 1111 1111 declined", "card <card> declined"),
        ("card 4111-1111-1111-1111", "card <card>"),
        ("call +1 415 555 0132 now", "call <phone> now"),
        ("open(/home/bob) failed", "open(~) failed"),
        ("[C:\\Users\\dave]", "[~]"),
        ("curl -u elastic:P@ssw0rd1 https://x", "curl -u <credentials> https://x"),
        ('alibabaKey := "LTAI89d0118a87ee4f664dcc"', 'alibabaKey := "<redacted>"'),
        ("password:\nnext line", "password:\nnext line"),
    ],
)
def test_rewrites(text: str, expected: str) -> None:
    assert S(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "root cause: disk full",  # generic account names are not people
        "at 12:30:45.123 on 2026-08-01T12:30:45Z",  # times are not IPv6
        "x[::2] and std::vector and Foo::bar",  # slices and C++ are not addresses
        "python 3.11.7, event 0123456789abcdef0123456789abcdef",
        "loadgen@0.3.0",
        "test_strings_are_scrubbed_before_they_leave_the_process_ok",
        "/work/main/src/prodtel/errors.py",
        "id 4111 1111 1111 1112 fails the Luhn check",
        "ns 1785580245123456789, semver 1.0.0+20130313144700, offset +05:30",
        "KeyError: 'user_profile_settings'",
    ],
)
def test_leaves_alone(text: str) -> None:
    s = Scrubber(values={**VALUES, "user": "root"})
    assert s(text) == text


def test_short_names_are_not_rewritten_everywhere() -> None:
    s = Scrubber(values={"user": "al", "host": "vm", "host_short": "vm"})
    assert s("all vms on al's vm") == "all vms on al's vm"


def test_extra_patterns_then_callback_last() -> None:
    seen: list[str] = []

    def cb(text: str) -> str:
        seen.append(text)
        return text.replace("Project Nightjar", "<project>")

    s = Scrubber(extra=[(r"ACME-\d+", "<ticket>")], callback=cb, values=VALUES)
    assert s("ACME-1234 by bob@x.io in Project Nightjar") == "<ticket> by <email> in <project>"
    assert seen == ["<ticket> by <email> in Project Nightjar"]  # built-ins ran before


def test_value_and_deep() -> None:
    assert S.value(3) == 3
    assert S.value(["/home/bob/x", 1]) == ["~/x", 1]
    data = {"/home/bob/k": ["bob@x.io", {"n": 1, "ip": "10.0.0.1"}], 2: None}
    assert S.deep(data) == {"~/k": ["<email>", {"n": 1, "ip": "<ip>"}], 2: None}
    assert S.deep(data, keys=False) == {"/home/bob/k": ["<email>", {"n": 1, "ip": "<ip>"}], 2: None}


def test_machine_values_follow_home_user_and_host(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    monkeypatch.setenv("HOME", "/tmp/somewhere/home/zoe")
    monkeypatch.setenv("LOGNAME", "zoe-q")
    monkeypatch.setattr(socket, "gethostname", lambda: "zoes-mbp.local")
    assert machine_values() == {
        "home": "/tmp/somewhere/home/zoe",
        "user": "zoe-q",
        "host": "zoes-mbp.local",
        "host_short": "zoes-mbp",
    }
    assert Scrubber()("zoe-q on zoes-mbp: /tmp/somewhere/home/zoe/x") == "<user> on <host>: ~/x"


def test_public_api_is_kept() -> None:
    assert isinstance(scrub.PATTERNS, list)
    assert all(isinstance(p, str) and isinstance(r, str) for p, r in scrub.PATTERNS)


@pytest.mark.parametrize(
    "bad",
    ["x" * 200_000, "a:" * 100_000, "a-" * 100_000, "a." * 100_000, "a@" * 100_000,
     "ab:" * 70_000, "http://" * 30_000, "x/site-packages" * 10_000, "Aa1" * 60_000,
     "%" * 100_000, "1:" * 7 * 10_000],
)  # fmt: skip
def test_pathological_input_is_linear(bad: str) -> None:
    """A quadratic pattern takes minutes here (it did: 590 s for 'a:' * 100000)."""
    assert len(S(bad)) > 0


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_scrubbing_twice_changes_nothing_more(text: str) -> None:
    # exception records are scrubbed before the cut and again in the pipeline
    once = S(text)
    assert S(once) == once


def _scrubbed_note_and_exception(tmp_path: Path, **init: Any) -> tuple[str, str]:
    """What the app's `note` event and a reported error carry after init(**init)'s scrubber."""
    import prodtel
    from prodtel import Attr, Catalog, Event, crash
    from prodtel.testing import capture

    cat = Catalog("cfgapp", [Event("note", "Text.", attrs=[Attr("text", str, "Text.")])])
    with capture() as sent:
        prodtel.init(cat, "1.0", config_dir=str(tmp_path), **init)
        try:
            prodtel.track("note", text="ACME-42 in Nightjar")
            try:
                raise ValueError("ACME-7 failed for Nightjar")
            except ValueError:
                prodtel.capture_exception()
            note = sent.assert_event("note").attrs["text"]
            return note, sent.assert_event("exception").attrs["exception.message"]
        finally:
            crash.uninstall()
            prodtel.shutdown(0)


def test_init_scrub_options_reach_the_apps_events_and_crash_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CFGAPP_TELEMETRY", "all")
    note, message = _scrubbed_note_and_exception(
        tmp_path,
        scrub_extra=[(r"ACME-\d+", "<ticket>")],
        scrub_callback=lambda s: s.replace("Nightjar", "<project>"),
    )
    assert note == "<ticket> in <project>"
    assert message == "<ticket> failed for <project>"
    # Per init(): the next init() without them scrubs only the built-in kinds.
    assert _scrubbed_note_and_exception(tmp_path)[0] == "ACME-42 in Nightjar"


def test_init_rejects_a_bad_scrub_pattern_in_the_apps_code(tmp_path: Path) -> None:
    import prodtel
    from prodtel import Catalog

    with pytest.raises(ValueError, match="scrub_extra"):
        prodtel.init(
            Catalog("cfgapp", []), "1.0", config_dir=str(tmp_path), scrub_extra=[("(", "")]
        )


def test_deprecated_configure_still_reaches_the_apps_events_and_crash_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scrub, "_extra", [])
    monkeypatch.setattr(scrub, "_callback", [])
    monkeypatch.setenv("CFGAPP_TELEMETRY", "all")
    with pytest.warns(DeprecationWarning, match="scrub_extra"), pytest.raises(re.error):
        scrub.configure(extra=[("(unclosed", "x")])
    with pytest.warns(DeprecationWarning):
        scrub.configure(
            extra=[(r"ACME-\d+", "<ticket>")], callback=lambda s: s.replace("Nightjar", "<project>")
        )
    note, message = _scrubbed_note_and_exception(tmp_path)
    assert note == "<ticket> in <project>"
    assert message == "<ticket> failed for <project>"


def test_resource_values_the_app_or_os_supplies_are_scrubbed_before_they_leave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An environment named after the laptop, a version string carrying a build path under
    home: the resource leaves scrubbed, over a real socket, and `track()` never paid for it."""
    import platform
    import socket

    import prodtel
    from prodtel import Catalog, Event
    from prodtel.config import TestHooks
    from tests.support.loopback import Receiver

    host = "erin-fox-laptop"
    monkeypatch.setattr(socket, "gethostname", lambda: host)
    monkeypatch.setattr(platform, "release", lambda: "6.1.0-built-by-jane.doe@example.com")
    rx = Receiver()
    try:
        cat = Catalog("resapp", [Event("ping", "A ping.")])
        prodtel.init(
            cat,
            f"1.0.0+{Path.home()}/src/build",
            endpoint=rx.url,
            config_dir=str(tmp_path),
            environment=f"{host} by jane.doe@example.com",
            test_hooks=TestHooks(environ={"RESAPP_TELEMETRY": "all"}),
        )
        prodtel.track("ping")
        assert prodtel.flush(10.0)
    finally:
        prodtel.shutdown(0)
        rx.close()
    [res] = rx.resources[:1]
    leaked = [v for v in res.values() if "jane.doe" in v or str(Path.home()) in v]
    assert not leaked, res
    assert host not in res["deployment.environment.name"], res
    assert res["service.version"].startswith("1.0.0+~"), res


def _sources() -> list[tuple[str, str]]:
    from prodtel.patterns import TABLE

    return [("site-packages", scrub.SITE_PACKAGES), *((p.name, p.python) for p in TABLE)]


def test_skip_table_is_what_re_computes() -> None:
    """scrub.SKIP lets texts skip patterns: each entry must be re's own minimum width and the
    characters re's parse tree proves every match holds, for the current source (a stale entry
    is ignored at run time, but then costs speed)."""
    import re._parser
    import zlib

    want = {
        (name, zlib.crc32(src.encode())): (
            re._parser.parse(src).getwidth()[0],
            regex_needs.needs(src),
        )
        for name, src in _sources()
    }
    assert want == scrub.SKIP


def test_every_example_match_holds_the_needed_characters() -> None:
    from prodtel.patterns import TABLE

    checked = 0
    for p in TABLE:
        needs = scrub._skip(p.name, p.python)[1]
        for example in p.matches:
            m = re.search(p.python, example)
            assert m is not None, (p.name, example)
            assert scrub._holds_all(needs, m.group(0)), (p.name, example, needs)
            checked += 1
    assert checked > 50


# Hypothesis writes texts from each pattern itself (those with sets to check); xml-secret-element
# ends in a look-ahead for text after the match, which a full match cannot hold (its examples
# are checked above).
@pytest.mark.parametrize(
    "source",
    [s for n, s in _sources() if n != "xml-secret-element" and regex_needs.needs(s)],
)
def test_generated_matches_hold_the_needed_characters(source: str) -> None:
    needs = regex_needs.needs(source)
    rx = re.compile(source)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.from_regex(rx, fullmatch=True))
    def check(text: str) -> None:
        m = rx.search(text)
        assert m is not None
        assert not m.group(0) or scrub._holds_all(needs, m.group(0)), (text, needs)

    check()


def test_short_texts_skip_patterns_without_changing_results() -> None:
    s = scrub.Scrubber(values={"user": "alice", "host": "box01", "home": "/home/alice"})
    full = scrub.Scrubber(values={"user": "alice", "host": "box01", "home": "/home/alice"})
    for step in full.steps:
        step.min_len, step.needs = 0, ()  # every pattern runs on every text
    texts = ["", "js", "abc", "alice", "Alice!", "box01", "1.2.3.4", "a@b.io", "::1", "x" * 40]
    texts += ["/home/alice/x", "ghp_" + "a" * 36, "fe80::1%eth0", "4111 1111 1111 1111"]
    texts += ["6.18.44-fc-v669", "C:\\Users\\alice\\x", "\\HOME\\ALICE\\y", "ALICE@BOX01"]
    from prodtel.patterns import TABLE

    texts += [e for p in TABLE for e in (*p.matches, *p.keeps)]
    for text in texts:
        assert s(text) == full(text), text
    compiled = [st for st in scrub.Scrubber(values={}).steps if st._compiled is not None]
    assert compiled == []  # nothing compiled before use
