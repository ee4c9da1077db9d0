"""The PII matrix's corpus: one value per kind of personal data or credential, the parts of it
that must never be sent (needles, and words matched in any case), the contexts it is put in, and
the false-positive corpus that must arrive unchanged. Used by tests/test_pii_matrix.py."""

from __future__ import annotations

import linecache
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest

    from tests.support.sentry_memory import Memory

USER = "alice-smith"
HOST = "alice-laptop.fritz.box"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PEM_BODY = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"
PEM = f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\nVxPc9HkL2\n-----END RSA PRIVATE KEY-----"
# Where a value sits in a message: alone, in prose, quoted, in JSON, on an inner line, key=value.
CONTEXTS = (
    "{}",
    "failed to open {} (errno 2)",
    "value was '{}'",
    '{{"field": "{}"}}',
    "first line\n  detail: {}\nlast line",
    "key={};next=1",
)


@dataclass(frozen=True)
class Kind:
    name: str
    value: str
    needles: tuple[str, ...]  # must not appear anywhere in what is sent
    words: tuple[str, ...] = ()  # must not appear as words, any case
    # False: only the SDK can know it (this machine's user, host and home, or a token without a
    # vendor shape); the collector has no pattern for it and is not asked to find it.
    collector: bool = True


def kinds(home: str) -> list[Kind]:
    """Every kind, with `home` the sending user's home directory (the SDK knows it)."""
    return [
        Kind("home linux", "/home/marta.k/.config/app.toml", ("marta.k",)),
        Kind("home macOS", "/Users/jsmith/Library/Caches/app", ("jsmith",)),
        Kind("home Windows", r"C:\Users\Ólafur\AppData\Roaming\app", ("Ólafur",)),
        Kind("home Windows, escaped", r"C:\\Users\\pkowalski\\x.csv", ("pkowalski",)),
        Kind("home in parentheses", "(/home/bob.k)", ("bob.k",)),
        Kind("own home", f"{home}/projects/q3.xlsx", (home,), (USER,), collector=False),
        Kind("user name", f"permission denied for {USER}", (), (USER,), collector=False),
        Kind("host name", f"cannot resolve {HOST}", (), (HOST, "alice-laptop"), collector=False),
        Kind("email", "jane.doe+billing@example.co.uk", ("jane.doe", "example.co.uk")),
        Kind("ipv4", "203.0.113.77", ("203.0.113.77",)),
        Kind("ipv6", "2001:db8:85a3::8a2e:370:7334", ("2001:db8:85a3::8a2e:370:7334",)),
        Kind("ipv6 zone", "fe80::1ff:fe23:4567:890a%eth0", ("fe80::1ff:fe23:4567:890a",)),
        Kind("ipv6 in URL", "http://[2001:db8::1]:8080/", ("2001:db8::1",)),
        Kind("mac", "3c:22:fb:12:ab:9e", ("3c:22:fb:12:ab:9e",)),
        Kind("url credentials", "postgres://app:S3cr3t!pw@db.internal:5432/prod", ("S3cr3t!pw",)),
        Kind("url user", "https://ghuser123@github.com/org/repo.git", ("ghuser123",)),
        Kind("bearer token", "Authorization: Bearer 8f3kLq0pZx9T2mVn7Rw1", ("8f3kLq0pZx9T2mVn",)),
        Kind("basic auth", "Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l", ("YWxhZGRpbjpvcGVu",)),
        Kind("jwt", JWT, (JWT[:40], JWT.rsplit(".", 1)[1])),
        Kind("aws key", "AKIAIOSFODNN7EXAMPLE", ("AKIAIOSFODNN7EXAMPLE",)),
        Kind("github token", "ghp_16C7e42F292c6912E7710c838347Ae178B4a", ("16C7e42F292c6912",)),
        Kind("slack token", "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy", ("pdFZKVe",)),
        Kind("stripe key", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", ("4eC39HqLyjWDarjt",)),
        Kind("google key", "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI", ("SyDdI0hCZtE6vySj",)),
        Kind("npm token", "npm_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5", ("aB3dE5fG7hJ9kL1m",)),
        Kind("password=", "password=correct-horse-battery", ("correct-horse",)),
        Kind("api_key json", '"api_key": "Zm9vYmFyYmF6cXV4"', ("Zm9vYmFyYmF6cXV4",)),
        Kind("private key (PEM)", PEM, (PEM_BODY[:24], "VxPc9HkL2")),
        Kind(
            "slack webhook",
            "https://hooks.slack.com/services/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",
            ("T0DCUJB1Q", "bJtrpFi1fO1JMCcw"),
        ),
        Kind(
            "discord webhook",
            "https://discord.com/api/webhooks/123456789012345678/AbCdEf-gh_IJklmnOPqrstu",
            ("123456789012345678", "AbCdEf-gh_IJklmn"),
        ),
        Kind("generic webhook", "https://ci.example.org/hooks/9f8e7d6c5b4a39281706", ("9f8e7d6c",)),
        Kind("card, spaced", "4111 1111 1111 1111", ("4111 1111 1111 1111",)),
        Kind("card, plain", "5555555555554444", ("5555555555554444",)),
        Kind("card, amex", "3782-822463-10005", ("822463",)),
        Kind("phone E.164", "+1 415 555 0132", ("415 555 0132",)),
        Kind("phone, compact", "+14155550132", ("4155550132",)),
        Kind("phone, UK", "+44 20 7946 0958", ("7946 0958",)),
        Kind(
            "unknown vendor token",
            "tok Q2x7Lm9Pq3Rs5Tu8Vw0Xy1Za4Bc6De8Fg",
            ("Q2x7Lm9Pq3Rs5Tu8",),
            collector=False,
        ),
    ]


# Looks like personal data to a careless pattern, is not: must arrive byte for byte.
FALSE_POSITIVES = (
    "1.2.3",
    "v2.0.0-beta.2",
    "1.2.3-rc.1+build.5",
    "1.0.0+20130313144700",
    "python 3.11.7",
    "6.1.0-13-amd64",
    "10.0.22631",
    "2026-08-01T12:30:45.123456+02:00",
    "2026-08-01 12:30:45Z",
    "1785580245123 ms",
    "1785580245123456789 ns",
    "12:30:45.123",
    "offset +05:30, UTC+1",
    "6f1c2f9e-8a51-4d43-9a37-0f3f1d2b9c10",
    "0123456789abcdef0123456789abcdef",
    "static/app.3f2a9c1b7e4d5a6b.js",
    "sha256-9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.tar.gz",
    "commit 3f2a9c1b7e4d5a6b8c9d0e1f2a3b4c5d6e7f8a9b",
    "took 1.5s, 250ms, 3m20s, PT1H30M, +1.5s later",
    "localhost:8080, port 5432, :443, [::]:9000",
    "/usr/lib/python3.11/json/decoder.py",
    "/var/lib/app/data.db",
    "/homework/a/b.txt",
    r"C:\Program Files\App\x.dll",
    "./relative/path/x.py",
    "HTTP/1.1 404 Not Found",
    "HTTP/2 503 Service Unavailable",
    "429 Too Many Requests (limit 1000/min)",
    "x[::2] and std::vector<int>",
    "size 4096 bytes, 1024x768, 99.9% done",
)
# Contexts for the false positives: no `key=` (that one makes any value a secret, on purpose).
FP_CONTEXTS = ("{}", "failed to open {} (errno 2)", "value was '{}'")


def stack_frame(text: str) -> RuntimeError:
    """An exception whose message is clean and whose stack is not: the text is in a source
    line, in the message of the exception it was raised from and, when it is a path, in the
    frame's file name."""
    path = text.startswith(("/", "C:", "("))
    filename = f"{text}/job.py" if path else f"/srv/app/job_{len(linecache.cache)}.py"
    source = f'note = {text!r}; raise RuntimeError("boom") from ValueError(note)\n'
    # Kept for the test's life: the traceback reads the line when the record is made.
    linecache.cache[filename] = (len(source), None, [source], filename)
    try:
        exec(compile(source, filename, "exec"), {})
    except RuntimeError as e:
        return e
    raise AssertionError("unreachable")


def as_user(mp: pytest.MonkeyPatch, home: Path, app: str) -> Memory:
    """Run the app as USER on HOST with `home`, telemetry at `all`; returns the in-memory
    Sentry transport it reports to."""
    import socket

    from prodtel.crash.hooks import reporter
    from prodtel.policy import env_prefix
    from tests.support.sentry_memory import Memory

    mp.setenv("HOME", str(home))
    mp.setenv("USER", USER)
    mp.setenv("LOGNAME", USER)
    mp.setenv(f"{env_prefix(app)}_TELEMETRY", "all")
    mp.setattr(socket, "gethostname", lambda: HOST)
    mem = Memory()
    mp.setattr(reporter, "transport_override", mem)
    return mem


def strings(v: Any) -> Iterator[str]:
    """Every string in a JSON-like value, keys too."""
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for k, x in v.items():
            yield from strings(k)
            yield from strings(x)
    elif isinstance(v, list | tuple):
        for x in v:
            yield from strings(x)


def leaks(kind: Kind, out: str) -> list[str]:
    """What of `kind` is in `out`, with some context."""
    found = []
    for n in kind.needles:
        i = out.find(n)
        if i >= 0:
            found.append(f"{n!r} sent as ...{out[max(0, i - 50) : i + len(n) + 30]!r}...")
    for w in kind.words:
        if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", out, re.I):
            found.append(f"word {w!r}")
    return found


def matrix(
    path: str, corpus: list[Kind], places: list[str], cells: dict[tuple[str, str], int], of: int
) -> str:
    """kind x place, each cell the number of contexts (of `of`) that leaked; "-" not asked."""
    width = max(len(k.name) for k in corpus)
    cols = [max(len(p), 3) for p in places]
    head = " ".join(p.rjust(w) for p, w in zip(places, cols, strict=True))
    lines = [
        f"\nPII matrix through the {path}: contexts leaked of {of} per cell ('-': not asked)",
        f"{'kind':<{width}} {head}",
    ]
    for k in corpus:
        row = [str(cells[k.name, p]) if (k.name, p) in cells else "-" for p in places]
        lines.append(
            f"{k.name:<{width}} " + " ".join(c.rjust(w) for c, w in zip(row, cols, strict=True))
        )
    total = sum(cells.values())
    lines.append(f"{len(cells)} cells x {of} contexts, {total} leaked")
    return "\n".join(lines)
