"""Scrub personal data from every string that may leave: event attributes, exception messages,
stack traces, Sentry events.

    scrub = Scrubber()
    scrub("open /home/alice/x.txt failed for bob@example.com")
    # -> 'open ~/x.txt failed for <email>'

Extend with `Scrubber(extra=[(r"ACME-\\d+", "<ticket>")], callback=fn)`.
"""

from __future__ import annotations

import getpass
import os
import re
import socket

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

# Order matters: credentials in URLs and tokens before emails and IPs.
PATTERNS: list[tuple[str, str]] = [
    (r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/:@]+:[^\s/@]+@", r"\1<credentials>@"),
    (r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}", "<jwt>"),
    (r"(?i)\b(bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{12,}", r"\1 <token>"),
    (r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", "<aws-key>"),
    (r"\bgh[pousr]_[A-Za-z0-9]{30,}\b", "<github-token>"),
    (r"\bgithub_pat_[A-Za-z0-9_]{30,}\b", "<github-token>"),
    (r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b", "<slack-token>"),
    (r"\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b", "<api-key>"),
    (r"\bsk-[A-Za-z0-9_-]{20,}\b", "<api-key>"),
    (r"\bglpat-[A-Za-z0-9_-]{20,}\b", "<gitlab-token>"),
    (
        r"(?i)\b((?:api[_-]?key|access[_-]?token|auth[_-]?token|secret|password|passwd|pwd)"
        r"[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&]+",
        r"\1<redacted>",
    ),
    (
        r"(?i)-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
        "<private-key>",
    ),
    (r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b", "<email>"),
    (
        r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w.])",
        "<ip>",
    ),
    (r"(?i)(?<![\w:])(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}(?![\w:])", "<ip>"),
    (
        r"(?i)(?<![\w:])(?:[0-9a-f]{1,4}:){1,6}:(?:[0-9a-f]{1,4}:){0,5}[0-9a-f]{1,4}(?![\w:])",
        "<ip>",
    ),
    (r"(?i)(?<![\w:])fe80::[0-9a-f:%a-z]*", "<ip>"),
]
# Any other home directory still in a path: /home/<name>, /Users/<name>, C:\Users\<name>.
HOME_PATTERNS: list[tuple[str, str]] = [
    (r"(?:/home|/Users|/var/home)/[^/\s\"':]+", "~"),
    (r"(?i)[a-z]:\\(?:Users|Documents and Settings)\\[^\\\s\"':]+", "~"),
]
SITE_PACKAGES = r"[^\s\"']*[/\\](?:site|dist)-packages[/\\]"


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
    """A callable that removes personal data from a string."""

    def __init__(
        self,
        extra: Iterable[tuple[str, str]] = (),
        callback: Callable[[str], str] | None = None,
        values: dict[str, str] | None = None,
    ) -> None:
        vals = machine_values() if values is None else values
        self.values = vals
        self.callback = callback
        steps: list[tuple[re.Pattern[str], str]] = []
        homes = sorted({v for k, v in vals.items() if k.startswith("home")}, key=len, reverse=True)
        steps += [(re.compile(re.escape(h) + r"(?=$|[/\\\s\"':])"), "~") for h in homes]
        steps.append((re.compile(SITE_PACKAGES), ""))
        steps += [(re.compile(p), r) for p, r in HOME_PATTERNS]
        steps += [(re.compile(p, re.S), r) for p, r in (*PATTERNS, *extra)]
        # Names last and only when long enough to be specific ("a" must not eat every 'a').
        for key, placeholder in (("host", "<host>"), ("host_short", "<host>"), ("user", "<user>")):
            v = vals.get(key)
            if v and len(v) >= 3:
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
