"""Scrub personal data from every string that may leave: event attributes, exception messages,
stack traces, Sentry events.

    scrub = Scrubber()
    scrub("open /home/alice/x.txt failed for bob@example.com")
    # -> 'open ~/x.txt failed for <email>'

Extend with `Scrubber(extra=[(r"ACME-\\d+", "<ticket>")], callback=fn)`: extra patterns run
after the built-in ones, the callback last, on the already scrubbed text. For the scrubber
`prodtel.init()` builds (events, crash reports, Sentry events), pass the same as
`init(..., scrub_extra=[...], scrub_callback=fn)`. `configure()` (deprecated) still adds rules
to every scrubber built afterwards.
"""

from __future__ import annotations

import getpass
import os
import re
import socket

from prodtel.patterns import TABLE, Pattern, luhn

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    Replacement = str | Callable[[re.Match[str]], str]

# The built-in rules come from the one pattern table (prodtel.patterns), which the collector's
# generated redaction shares. Kept as (regex, replacement) lists for code that reads them.
HOME_PATTERNS: list[tuple[str, str]] = [
    (p.python, p.replacement) for p in TABLE if p.name.startswith("home-")
]
PATTERNS: list[tuple[str, str]] = [
    (p.python, p.replacement)
    for p in TABLE
    if not p.name.startswith("home-") and p.validate is None
]
# Starts only where a path can start, so a long run of other text is scanned once, not n times.
SITE_PACKAGES = r"(?<![^\s\"'(=,;])[^\s\"'(=,;]*[/\\](?:site|dist)-packages[/\\]+"
# Account names that say nothing about a person: never rewritten (else "root cause" breaks).
GENERIC_USERS = frozenset(
    {"root", "admin", "administrator", "user", "runner", "ubuntu", "debian", "ec2-user",
     "vagrant", "nobody", "docker", "jenkins", "gitlab-runner", "circleci", "builder", "app"}
)  # fmt: skip


# The app's own rules, added by the deprecated configure() to every Scrubber built afterwards.
_extra: list[tuple[str, str]] = []
_callback: list[Callable[[str], str]] = []


def configure(
    extra: Iterable[tuple[str, str]] = (), callback: Callable[[str], str] | None = None
) -> None:
    """Deprecated: pass `prodtel.init(..., scrub_extra=..., scrub_callback=...)` instead.

    Adds the app's own rules to every scrubber built from now on, the one `prodtel.init()`
    builds for its events and crash reports included: `extra` (regex, replacement) pairs run
    after the built-in patterns, `callback` runs last on the scrubbed text (an init()
    `scrub_callback` replaces it). A callback that raises drops the record (fail closed)."""
    import warnings

    warnings.warn(
        "prodtel.scrub.configure() is deprecated: "
        "use prodtel.init(..., scrub_extra=[(pattern, replacement)], scrub_callback=fn)",
        DeprecationWarning,
        stacklevel=2,
    )
    pairs = list(extra)
    for pattern, _ in pairs:
        re.compile(pattern)  # a bad pattern fails here, in the app's code, not on the worker
    _extra.extend(pairs)
    if callback is not None:
        _callback[:] = [callback]


def _ipv6(m: re.Match[str]) -> str:
    """Replace a valid IPv6 address that carries at least two groups of bits (so `x[::2]` in a
    source line stays as it is)."""
    text = m.group(0)
    addr, zone, _ = text.partition("%")
    core = addr.rstrip(".")  # the full stop of a sentence is not part of the address
    if ":" not in core:
        return text  # most candidates (version numbers): no import of ipaddress (~1 ms)
    import ipaddress

    try:
        ipaddress.IPv6Address(core)
    except ValueError:
        return text
    if len([g for g in re.split(r"[:.]", core) if g]) < 2:
        return text
    return "<ip>" + ("" if zone else addr[len(core) :])


def _card(m: re.Match[str]) -> str:
    """Replace a card number only if it passes the Luhn check (most digit runs do not)."""
    return "<card>" if luhn(m.group(0)) else m.group(0)


_VALIDATORS: dict[str, Callable[[re.Match[str]], str]] = {"ipv6": _ipv6, "luhn": _card}


# What a text needs before a built-in pattern is tried, keyed by name and the CRC-32 of its
# source: (its shortest match, from re's width analysis; character sets, from re's parse tree,
# every match holding a character of each). A text too short, or missing a set, skips the
# pattern uncompiled. An edited pattern no longer matches its key and is always tried;
# tests/test_scrub.py recomputes the table and checks it against matches.
SKIP: dict[tuple[str, int], tuple[int, tuple[str, ...]]] = {
    ("site-packages", 0xF098DB92): (15, ("k", "g", "p")),
    ("home-windows", 0x53F5A773): (10, (":", "/\\", " Uu")),
    ("home-unix", 0xF16FA41D): (7, ("/", "Uhv")),
    ("url-credentials", 0x8FD7EEDE): (7, ("@", ":", "/")),
    ("url-user", 0x69847EE3): (6, ("@", ":", "/")),
    ("webhook-slack", 0x8FB852CA): (33, ("k", "m", "/")),
    ("webhook-url", 0x346AD4D5): (23, (":", "/", "Pp")),
    ("jwt", 0xAB5FFF7D): (26, ("y", ".", "e")),
    ("auth-scheme", 0xC3C65AAA): (18, ("BTbt",)),
    ("aws-token", 0xF0293230): (20, ("Ab",)),
    ("github-token", 0xA1B59962): (34, ("g", "hi")),
    ("gitlab-token", 0x1793E55E): (25, ("G_g",)),
    ("slack-token", 0xFFCF0680): (15, ("x", "-", "ao")),
    ("vendor-token", 0x0615AEAE): (18, ()),
    ("azure-client-secret", 0x063B5062): (37, ("~", "Q")),
    ("xml-secret-attribute", 0x2ADDC662): (23, ("<", "=", "\"'")),
    ("keyed-secret", 0xFB03F8AB): (5, (",:=?", "ACEPRTaceprt")),
    ("keyed-long-value", 0xF8FA46AB): (16, (",:=?", "ACELacel")),
    ("keyed-vendor-token", 0x6DEA9286): (25, (",:=?",)),
    ("xml-secret-element", 0xC38D5002): (6, ("<", ">")),
    ("curl-user", 0x755FD53A): (5, ("-", "\t ", "-u")),
    ("bundler-credentials", 0x2B927147): (12, ("B", "_", "U")),
    ("yaml-base64-value", 0xC6D5D8B3): (10, ("=", "\t ")),
    ("private-key", 0xBB642030): (27, ("K", "V", "B")),
    ("email", 0x47560D37): (6, ("@", ".")),
    ("ipv4", 0xF58A13EC): (7, (".", "0123456789")),
    ("mac", 0x49A91630): (17, ("-:",)),
    ("card-number", 0x9F60D958): (13, (" -23456",)),
    ("phone", 0x71EE94DE): (8, ("+", "123456789")),
    ("generic-secret", 0x11DD046B): (32, ()),
    ("ipv6", 0x9F7B5387): (2, ()),
}


class Step:
    """One substitution, compiled on first use: most texts skip most steps uncompiled (compiling
    every pattern costs ~10 ms, on the exit path of a short run). `needs`: character sets; every
    match holds a character of each."""

    __slots__ = ("_compiled", "flags", "min_len", "needs", "repl", "source")

    def __init__(
        self,
        source: str,
        repl: Replacement,
        skip: tuple[int, tuple[str, ...]] = (0, ()),
        flags: int = 0,
    ) -> None:
        self.source = source
        self.repl = repl
        self.min_len, self.needs = skip
        self.flags = flags
        self._compiled: re.Pattern[str] | None = None

    @property
    def pattern(self) -> re.Pattern[str]:
        p = self._compiled
        if p is None:
            p = self._compiled = re.compile(self.source, self.flags)
        return p


def _skip(name: str, source: str) -> tuple[int, tuple[str, ...]]:
    import zlib

    return SKIP.get((name, zlib.crc32(source.encode())), (0, ()))


def _holds_all(needs: tuple[str, ...], text: str) -> bool:
    """Does `text` hold a character of each set?"""
    for chars in needs:
        for ch in chars:
            if ch in text:
                break
        else:
            return False
    return True


def _lazy_step(p: Pattern) -> Step:
    repl = _VALIDATORS[p.validate] if p.validate else p.replacement
    return Step(p.python, repl, _skip(p.name, p.python))


def _step(p: Pattern) -> tuple[re.Pattern[str], Replacement]:
    """The compiled pattern and its replacement (tests check each table row with it)."""
    step = _lazy_step(p)
    return step.pattern, step.repl


def machine_values() -> dict[str, str]:
    """This machine's identifying strings: home, user, host name (long and short)."""
    vals: dict[str, str] = {}
    home = os.path.expanduser("~")
    if home and home not in ("/", "~"):
        vals["home"] = home
        real = os.path.realpath(home)
        if real != home:
            vals["home_real"] = real
    try:
        vals["user"] = getpass.getuser()
    except Exception:  # no user name resolvable (containers)
        pass
    try:
        host = socket.gethostname()
    except OSError:
        host = ""
    if host:
        vals["host"] = host
        vals["host_short"] = host.split(".")[0]
    return vals


def _home_step(home: str) -> Step:
    """This home as text shows it: any case (Windows' and macOS's file systems ignore case, and
    tracebacks say c:\\users\\dave), either separator, doubled backslashes (a repr)."""
    parts = re.split(r"[/\\]+", home)
    source = r"(?:\\+|/)".join(re.escape(p) for p in parts) + r"(?=$|[/\\\s\"':])"
    # Each part, and at least one character for each separator between them.
    skip = (sum(map(len, parts)) + len(parts) - 1, ("/\\",) if len(parts) > 1 else ())
    return Step(source, "~", skip, re.I)


class Scrubber:
    """A callable that removes personal data from a string.

    Steps, in order: this machine's home directory -> `~`; `.../site-packages/` and
    `.../dist-packages/` prefixes -> relative module paths; any other home directory -> `~`;
    credentials, tokens, keys, emails, IP addresses -> placeholders; `extra` patterns; this
    machine's host and user names -> `<host>`, `<user>`; then `callback`.
    """

    def __init__(
        self,
        extra: Iterable[tuple[str, str]] = (),
        callback: Callable[[str], str] | None = None,
        values: dict[str, str] | None = None,
    ) -> None:
        vals = machine_values() if values is None else values
        self.values = vals
        self.callback = callback or (_callback[0] if _callback else None)
        extra = (*_extra, *extra)
        steps: list[Step] = []
        homes = sorted({v for k, v in vals.items() if k.startswith("home")}, key=len, reverse=True)
        steps += [_home_step(h) for h in homes]
        steps.append(Step(SITE_PACKAGES, "", _skip("site-packages", SITE_PACKAGES)))
        steps += [_lazy_step(p) for p in TABLE]
        for p, r in extra:  # compiled now: a bad pattern of the app's fails here
            steps.append(Step(p, r, flags=re.S))
            steps[-1].pattern  # noqa: B018
        # Names last and only when long enough to be specific ("a" must not eat every 'a').
        for key, placeholder in (("host", "<host>"), ("host_short", "<host>"), ("user", "<user>")):
            v = vals.get(key)
            if v and len(v) >= 3 and v.lower() not in GENERIC_USERS:
                source = r"(?<![\w])" + re.escape(v) + r"(?![\w])"
                steps.append(Step(source, placeholder, (len(v), ()), re.I))
        self.steps = steps

    def compile_all(self) -> None:
        for step in self.steps:
            step.pattern  # noqa: B018 (compiles)

    def __call__(self, text: str) -> str:
        for step in self.steps:
            if len(text) < step.min_len or (step.needs and not _holds_all(step.needs, text)):
                continue  # no match can be in this text
            text = step.pattern.sub(step.repl, text)
        if self.callback is not None:
            text = self.callback(text)
        return text

    def value(self, v: object) -> object:
        """Scrub a value if it is a string (or a list of strings); return others unchanged."""
        if isinstance(v, str):
            return self(v)
        if isinstance(v, list | tuple):
            return [self(x) if isinstance(x, str) else x for x in v]
        return v

    def deep(self, v: object, keys: bool = True) -> object:
        """Scrub every string in a JSON-like structure (dicts, lists, tuples), dict keys too
        unless `keys` is False. Returns a new structure; non-string leaves are kept."""
        if isinstance(v, str):
            return self(v)
        if isinstance(v, dict):
            return {
                (self(k) if keys and isinstance(k, str) else k): self.deep(x, keys)
                for k, x in v.items()
            }
        if isinstance(v, list | tuple):
            return [self.deep(x, keys) for x in v]
        return v
