"""The PII corpus: personal data inside realistic messages, fixed and hypothesis-generated, through
every path that leaves the process:

- usage: `prodtel.track()` -> consent gate -> scrubber -> what `prodtel.testing.capture` sees;
- error record: `prodtel.capture_exception()` -> the `exception` record (message, stack trace);
- Sentry: the same exception through sentry-sdk and prodtel's `before_send` (in-memory transport).

A leak is the personal value itself in what would be sent. The count must be 0. The matrix of
every kind x every place (resource, spans, stack frames) through the SDK and through the
collector alone is tests/test_pii_matrix.py and tests/test_pii_matrix_collector.py.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import prodtel
from prodtel import Attr, Catalog, Event, crash
from prodtel.scrub import GENERIC_USERS
from prodtel.testing import Captured, capture
from tests.support.pii import HOST, USER, as_user, strings
from tests.support.sentry_memory import Memory


def _raise(text: str) -> None:
    raise RuntimeError(text)  # kept far from the corpus: Sentry sends source lines around it


DSN = "http://publickey@127.0.0.1:9/7"
CAT = Catalog(
    "piiapp", [Event("note", "Free text.", attrs=[Attr("text", str, "Text.", max_length=4096)])]
)
TEMPLATES = [
    "{}",
    "failed to open {} (errno 2)",
    "connect to {} refused",
    "value was '{}'",
    '{{"field": "{}"}}',
    "first line\n  detail: {}\nlast line",
    "key={};next=1",
]
FILLER = " ".join(TEMPLATES).lower()


@dataclass
class Sample:
    kind: str
    value: str  # the personal data as it appears in the message
    needles: list[str]  # must not appear anywhere in the output
    words: list[str] = field(default_factory=list)  # must not appear as words (any case)


@dataclass
class Env:
    sent: Captured
    mem: Memory
    home: Path


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    base = tmp_path_factory.mktemp("pii")
    home = base / "home" / USER
    home.mkdir(parents=True)
    with pytest.MonkeyPatch.context() as mp:
        mem = as_user(mp, home, CAT.app)
        with capture() as sent:
            prodtel.init(CAT, "1.0.0", config_dir=str(base / "cfg"), sentry_dsn=DSN, strict=True)
            try:
                yield Env(sent, mem, home)
            finally:
                crash.uninstall()
                prodtel.shutdown(0)


def run_paths(env: Env, text: str) -> dict[str, str]:
    """Send `text` down the three paths; what each would send, as one string."""
    env.sent.records.clear()
    env.mem.envelopes.clear()
    prodtel.track("note", text=text)
    try:
        _raise(text)
    except RuntimeError as e:
        prodtel.capture_exception(e)
    # log.record.uid is random hex made by prodtel (its counter has runs of zeros that a
    # minimal generated secret of zeros matches): not data that came from the app.
    notes = [_no_uid(r.attrs) for r in env.sent.named("note")]
    recs = [_no_uid(r.attrs) for r in env.sent.named("exception")]
    events = env.mem.events
    assert len(notes) == len(recs) == len(events) == 1, (notes, recs, events)
    return {
        "usage": "\n".join(strings(notes)),
        "error record": "\n".join(strings(recs)),
        "sentry": "\n".join(strings(events)),
    }


def _no_uid(attrs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attrs.items() if k != "log.record.uid"}


def leaks(env: Env, s: Sample, template: str = "{}") -> list[str]:
    found = []
    for path, out in run_paths(env, template.format(s.value)).items():
        for n in s.needles:
            if n in out:
                i = out.index(n)
                found.append(
                    f"{path}: {s.kind} {n!r} in {template.format(s.value)!r}, "
                    f"sent as ...{out[max(0, i - 60) : i + 40]!r}..."
                )
        for w in s.words:
            if re.search(rf"(?<![\w]){re.escape(w)}(?![\w])", out, re.I):
                found.append(f"{path}: {s.kind} word {w!r} in {template.format(s.value)!r}")
    return found


# -- the fixed corpus -------------------------------------------------------------------------
def fixed(home: Path) -> list[Sample]:
    jwt = (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0"
        ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    )
    return [
        Sample("own home", f"{home}/projects/q3/report.xlsx", [str(home)], [USER]),
        Sample("own home, repr", repr(str(home / "x.txt")), [str(home)], [USER]),
        Sample("linux home", "/home/marta.k/.config/app.toml", ["marta.k"]),
        Sample("mac home", "/Users/jsmith/Library/Caches/app", ["jsmith"]),
        Sample("windows home", r"C:\Users\Ólafur\AppData\Roaming\app", ["Ólafur"]),
        Sample("windows repr", r"'C:\\Users\\pkowalski\\Desktop\\x.csv'", ["pkowalski"]),
        Sample("site-packages", "/home/bob/venvs/x/lib/python3.12/site-packages/a/b.py", ["bob"]),
        Sample("email", "jane.doe+billing@example.co.uk", ["jane.doe", "example.co.uk"]),
        Sample("ipv4", "203.0.113.77", ["203.0.113.77"]),
        Sample("ipv6", "2001:db8:85a3::8a2e:370:7334", ["2001:db8:85a3::8a2e:370:7334"]),
        Sample("ipv6 zone", "fe80::1ff:fe23:4567:890a%eth0", ["fe80::1ff:fe23:4567:890a"]),
        Sample("ipv6 url", "http://[2001:db8::1]:8080/", ["2001:db8::1"]),
        Sample("mac", "3c:22:fb:12:ab:9e", ["3c:22:fb:12:ab:9e"]),
        Sample("url credentials", "postgres://app:S3cr3t!pw@db.internal:5432/prod", ["S3cr3t!pw"]),
        Sample("url user only", "https://ghuser123@github.com/org/repo.git", ["ghuser123"]),
        Sample("bearer", "Authorization: Bearer 8f3kLq0pZx9T2mVn7Rw1", ["8f3kLq0pZx9T2mVn7Rw1"]),
        Sample(
            "basic", "Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l", ["YWxhZGRpbjpvcGVuc2VzYW1l"]
        ),
        Sample("jwt", jwt, [jwt, jwt.rsplit(".", 1)[1]]),
        Sample("aws", "AKIAIOSFODNN7EXAMPLE", ["AKIAIOSFODNN7EXAMPLE"]),
        Sample("github", "ghp_16C7e42F292c6912E7710c838347Ae178B4a", ["16C7e42F292c6912E7710c8"]),
        Sample("slack", "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy", ["pdFZKVeTuE8"]),
        Sample("stripe", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", ["4eC39HqLyjWDarjtT1zdp7dc"]),
        Sample("openai", "sk-proj-abcdefghijklmnopqrstuvwxyz012345", ["abcdefghijklmnopqrstu"]),
        Sample("google", "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI", ["SyDdI0hCZtE6vySjMm"]),
        Sample("key=value", "api_key=Zm9vYmFyYmF6cXV4", ["Zm9vYmFyYmF6cXV4"]),
        Sample("json secret", '"password": "correct horse"', ["correct"]),
        Sample("unknown vendor", "tok Q2x7Lm9Pq3Rs5Tu8Vw0Xy1Za4Bc6De8Fg", ["Q2x7Lm9Pq3Rs5Tu8Vw0"]),
        Sample("user in message", f"permission denied for {USER}", [], [USER]),
        Sample("user, any case", f"owner {USER.upper()} has no access", [], [USER]),
        Sample("user possessive", f"{USER}'s settings are broken", [], [USER]),
        Sample("host", f"cannot resolve {HOST}", [], [HOST, "alice-laptop"]),
        Sample("short host", "ssh alice-laptop:22 failed", [], ["alice-laptop"]),
        Sample(
            "everything at once",
            f"{USER}@{HOST} ran {home}/bin/x for bob@corp.example from 198.51.100.7 with "
            "token ghp_16C7e42F292c6912E7710c838347Ae178B4a",
            [str(home), "bob@corp.example", "198.51.100.7", "16C7e42F292c6912E7710c8"],
            [USER, "alice-laptop"],
        ),
    ]


def test_fixed_corpus_has_no_leaks(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    samples = fixed(env.home)
    found = [leak for s in samples for t in TEMPLATES for leak in leaks(env, s, t)]
    with capsys.disabled():
        print(
            f"\nPII corpus (fixed): {len(samples)} samples x {len(TEMPLATES)} contexts x 3 paths, "
            f"{len(found)} leaks"
        )
    assert found == []


# -- the generated corpus ---------------------------------------------------------------------
label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
domain = st.builds(lambda ls, tld: ".".join([*ls, tld]), st.lists(label, min_size=1, max_size=3),
                   st.from_regex(r"[a-z]{2,6}", fullmatch=True))  # fmt: skip
person = st.from_regex(r"[a-z][a-z0-9._-]{2,14}[a-z0-9]", fullmatch=True).filter(
    lambda n: n not in GENERIC_USERS and n not in FILLER
)
segment = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,12}", fullmatch=True)
rest = st.lists(segment, min_size=1, max_size=4)


@st.composite
def other_home(draw: st.DrawFn) -> Sample:
    name = draw(person)
    parts = draw(rest)
    assume(all(name not in p.lower() for p in parts))
    style = draw(st.sampled_from(["/home/", "/Users/", "/var/home/", "C:\\Users\\", "C:/Users/",
                                  "c:\\\\Users\\\\"]))  # fmt: skip
    sep = "\\\\" if "\\\\" in style else "\\" if "\\" in style else "/"
    return Sample("home path", style + name + sep + sep.join(parts), [], [name])


@st.composite
def own_home(draw: st.DrawFn) -> Sample:
    parts = draw(rest)
    home = str(Path.home())  # the fixture's fake home
    return Sample("own home", home + "/" + "/".join(parts), [home], [USER])


@st.composite
def site_packages(draw: st.DrawFn) -> Sample:
    venv = draw(segment.filter(lambda s: len(s) >= 3))
    where = f"/opt/{venv}/lib/python3.{draw(st.integers(8, 14))}/site-packages"
    return Sample("site-packages", f"{where}/{'/'.join(draw(rest))}.py", [f"/opt/{venv}/"])


@st.composite
def email(draw: st.DrawFn) -> Sample:
    local = draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._%+-]{0,20}[A-Za-z0-9]", fullmatch=True))
    addr = f"{local}@{draw(domain)}"
    return Sample("email", addr, [addr, local + "@"])


ip4 = st.ip_addresses(v=4).map(lambda a: Sample("ipv4", str(a), [str(a)]))
ip6 = (
    st.ip_addresses(v=6)
    .map(str)
    .filter(lambda a: len([g for g in re.split(r"[:.]", a) if g]) >= 2 and "." not in a)
    .map(lambda a: Sample("ipv6", a, [a]))
)
mac = st.from_regex(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", fullmatch=True).map(
    lambda m: Sample("mac", m, [m])
)


@st.composite
def url_credentials(draw: st.DrawFn) -> Sample:
    scheme = draw(st.sampled_from(["http", "https", "postgres", "redis", "amqp", "ftp", "git+ssh"]))
    user = draw(person)
    # At least 4 letters or digits: "^^^^^^" also underlines code in every traceback.
    password = draw(
        st.from_regex(r"[A-Za-z0-9!$%^*_~-]{6,24}", fullmatch=True).filter(
            lambda p: sum(c.isalnum() for c in p) >= 4
        )
    )
    host = draw(domain)
    assume(user not in host and password not in f"{scheme}://{user}:@{host}/x" + FILLER)
    return Sample("url credentials", f"{scheme}://{user}:{password}@{host}/x", [password], [user])


token_chars = st.from_regex(r"[A-Za-z0-9._~+/-]{12,60}", fullmatch=True)
bearer = token_chars.map(lambda t: Sample("bearer", f"Authorization: Bearer {t}", [t]))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


claims = st.dictionaries(
    st.from_regex(r"[a-z]{2,8}", fullmatch=True),
    st.one_of(st.integers(), st.text(max_size=20)),
    min_size=1,
    max_size=4,
)
jwt = st.builds(
    lambda h, p, sig: f"{b64(json.dumps(h).encode())}.{b64(json.dumps(p).encode())}.{b64(sig)}",
    claims,
    claims,
    st.binary(min_size=16, max_size=64),
).map(lambda j: Sample("jwt", j, [j, j.rsplit(".", 1)[1]]))


def keyed(prefix: str, body: str) -> st.SearchStrategy[Sample]:
    return st.from_regex(body, fullmatch=True).map(lambda b: Sample("api key", prefix + b, [b]))


api_key = st.one_of(
    keyed("AKIA", r"[0-9A-Z]{16}"),
    keyed("ghp_", r"[A-Za-z0-9]{36}"),
    keyed("github_pat_", r"[A-Za-z0-9_]{40,82}"),
    keyed("xoxb-", r"[0-9]{10,12}-[0-9]{10,12}-[A-Za-z0-9]{24}"),
    keyed("sk_live_", r"[A-Za-z0-9]{24,40}"),
    keyed("sk-", r"[A-Za-z0-9_-]{32,64}"),
    keyed("AIza", r"[0-9A-Za-z_-]{35}"),
    keyed("glpat-", r"[A-Za-z0-9_-]{20}"),
    keyed("npm_", r"[A-Za-z0-9]{36}"),
    keyed("api_key=", r"[A-Za-z0-9+/]{8,40}"),
    keyed("password: ", r"[A-Za-z0-9!$%^*_~-]{6,30}"),
)
user_in_message = st.builds(
    lambda form, tpl: Sample("user name", tpl.format(form), [], [USER]),
    st.sampled_from([USER, USER.upper(), USER.title()]),
    st.sampled_from(["permission denied for {}", "{}'s files", "owner={}", "/srv/{}/data"]),
)
host_in_message = st.builds(
    lambda h: Sample("host name", h, [], [HOST, "alice-laptop"]),
    st.sampled_from([HOST, HOST.upper(), "alice-laptop", "alice-laptop.local"]),
)

STRATEGIES: dict[str, st.SearchStrategy[Sample]] = {
    "home path": other_home(),
    "own home": own_home(),
    "site-packages": site_packages(),
    "email": email(),
    "ipv4": ip4,
    "ipv6": ip6,
    "mac": mac,
    "url credentials": url_credentials(),
    "bearer": bearer,
    "jwt": jwt,
    "api key": api_key,
    "user name": user_in_message,
    "host name": host_in_message,
}


@pytest.mark.parametrize("kind", list(STRATEGIES))
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_generated_corpus_has_no_leaks(env: Env, kind: str, data: st.DataObject) -> None:
    sample = data.draw(STRATEGIES[kind], label="sample")
    template = data.draw(st.sampled_from(TEMPLATES), label="context")
    assert leaks(env, sample, template) == []
