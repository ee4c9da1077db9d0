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

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    Replacement = str | Callable[[re.Match[str]], str]

# Order matters: credentials in URLs and tokens before emails and IPs.
PATTERNS: list[tuple[str, str]] = [
    # URL userinfo, with or without a password (greedy up to the last '@' before the host).
    (r"(?i)\b([a-z][a-z0-9+.-]{0,30}://)[^\s/@<>\"']+:[^\s/<>\"']*@", r"\1<credentials>@"),
    (r"(?i)\b([a-z][a-z0-9+.-]{0,30}://)[^\s/:@<>\"']+@", r"\1<credentials>@"),
    (r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}", "<jwt>"),
    (r"(?i)\b(bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{12,}", r"\1 <token>"),
    (r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", "<aws-key>"),
    (r"\bgh[pousr]_[A-Za-z0-9]{30,}\b", "<github-token>"),
    (r"\bgithub_pat_[A-Za-z0-9_]{30,}\b", "<github-token>"),
    (r"\bxox[abprse]-[A-Za-z0-9-]{10,}\b", "<slack-token>"),
    (r"\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b", "<api-key>"),
    (r"\bsk-[A-Za-z0-9_-]{20,}\b", "<api-key>"),
    (r"\bAIza[0-9A-Za-z_-]{35}\b", "<api-key>"),
    (r"\bglpat-[A-Za-z0-9_-]{20,}\b", "<gitlab-token>"),
    (r"\bnpm_[A-Za-z0-9]{36}\b", "<api-key>"),
    (r"\bpypi-[A-Za-z0-9_-]{50,}\b", "<api-key>"),
    # key=value / "key": "value" where the key names a secret.
    (
        r"(?i)\b([\w-]{0,40}?(?:api[_-]?key|apikey|access[_-]?key|access[_-]?token|auth[_-]?token"
        r"|refresh[_-]?token|client[_-]?secret|secret|password|passwd|pwd|token|credentials?)"
        r"[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&<>]+",
        r"\1<redacted>",
    ),
    (
        r"(?i)-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
        "<private-key>",
    ),
    (r"\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,255}\.[A-Za-z]{2,}\b", "<email>"),
    (
        r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w.])",
        "<ip>",
    ),
    (r"(?<![\w:-])(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}(?![\w:-])", "<mac>"),
    # Random-looking tokens of unknown vendors: 32+ chars mixing upper, lower case and digits.
    (
        r"(?<![\w-])(?=[\w-]*[A-Z])(?=[\w-]*[a-z])(?=[\w-]*\d)[A-Za-z0-9_-]{32,}(?![\w-])",
        "<secret>",
    ),
]
# Any other home directory still in a path: /home/<name>, /Users/<name>, C:\Users\<name>
# (also with the doubled backslashes of a repr, or forward slashes).
HOME_PATTERNS: list[tuple[str, str]] = [
    (r"(?i)\b[a-z]:(?:\\+|/)(?:Users|Documents and Settings)(?:\\+|/)[^\\/\s\"':]+", "~"),
    (r"(?:/home|/Users|/var/home)/[^/\s\"':]+", "~"),
]
# Starts only where a path can start, so a long run of other text is scanned once, not n times.
SITE_PACKAGES = r"(?<![^\s\"'(=,;])[^\s\"'(=,;]*[/\\](?:site|dist)-packages[/\\]+"
# IPv6 candidates (hex, colons, maybe an embedded IPv4 and a zone); validated before replacing.
# Possessive and bounded (an address is at most 45 characters): linear on any input.
IPV6_CANDIDATE = r"(?<![\w:.%])[0-9A-Fa-f:.]{2,45}+(?:%[\w.-]{1,32}+)?(?![\w:.%])"
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
    import ipaddress

    text = m.group(0)
    addr, zone, _ = text.partition("%")
    core = addr.rstrip(".")  # the full stop of a sentence is not part of the address
    if ":" not in core:
        return text
    try:
        ipaddress.IPv6Address(core)
    except ValueError:
        return text
    if len([g for g in re.split(r"[:.]", core) if g]) < 2:
        return text
    return "<ip>" + ("" if zone else addr[len(core) :])


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
        steps: list[tuple[re.Pattern[str], Replacement]] = []
        homes = sorted({v for k, v in vals.items() if k.startswith("home")}, key=len, reverse=True)
        steps += [(re.compile(re.escape(h) + r"(?=$|[/\\\s\"':])"), "~") for h in homes]
        steps.append((re.compile(SITE_PACKAGES), ""))
        steps += [(re.compile(p), r) for p, r in HOME_PATTERNS]
        steps += [(re.compile(p, re.S), r) for p, r in PATTERNS]
        steps.append((re.compile(IPV6_CANDIDATE), _ipv6))
        steps += [(re.compile(p, re.S), r) for p, r in extra]
        # Names last and only when long enough to be specific ("a" must not eat every 'a').
        for key, placeholder in (("host", "<host>"), ("host_short", "<host>"), ("user", "<user>")):
            v = vals.get(key)
            if v and len(v) >= 3 and v.lower() not in GENERIC_USERS:
                steps.append(
                    (re.compile(r"(?<![\w])" + re.escape(v) + r"(?![\w])", re.I), placeholder)
                )
        self.steps = steps

    def __call__(self, text: str) -> str:
        for pattern, repl in self.steps:
            text = pattern.sub(repl, text)
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
