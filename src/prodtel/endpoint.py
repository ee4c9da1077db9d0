"""Where product telemetry goes, and what may be shown about it.

The endpoint belongs to the app: `<APP>_TELEMETRY_ENDPOINT` (this app only), then
`PRODTEL_ENDPOINT` (an operator's switch for every prodtel-based tool), then the app's own
`endpoint=`. The host's `OTEL_EXPORTER_OTLP_*` vars configure the user's *own* observability
(a local Jaeger, the OTel operator in a pod); they only count when the app opts in with
`init(..., otel_env=True)`. This module parses those values and renders them for `status`
without secrets: header values and URL credentials are never shown.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


# An HTTP header name (RFC 9110 token).
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def parse_url(value: str) -> str:
    """An http(s) URL, stripped; ValueError (naming no value) otherwise."""
    from urllib.parse import urlsplit

    url = value.strip()
    try:
        u = urlsplit(url)
        u.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        raise ValueError("not a URL") from None
    if u.scheme not in ("http", "https") or not u.hostname:
        raise ValueError("use an http:// or https:// URL")
    return url


# The usual endpoint: http(s), a host name or IPv4 address, a port, a path and a query. Split
# without urllib.parse, whose import (with ipaddress) is ~2 ms of every short run that sends.
_PLAIN_URL = r"(https?)://([A-Za-z0-9.-]+)(?::([0-9]{1,5}))?(/[^?#\s]*)?(?:\?([^#\s]*))?"


def split_url(url: str) -> tuple[str, str | None, int | None, str, str]:
    """(scheme, hostname, port, path, query), as `urllib.parse.urlsplit` gives them (the host
    lowercased, no port: None). The usual form is split here; anything else (user info, an IPv6
    literal, a fragment, spaces, an out-of-range port) by urlsplit itself, errors included."""
    import re

    m = re.fullmatch(_PLAIN_URL, url)
    if m is not None and (m[3] is None or int(m[3]) <= 65535):
        return m[1], m[2].lower(), None if m[3] is None else int(m[3]), m[4] or "", m[5] or ""
    from urllib.parse import urlsplit

    u = urlsplit(url)
    return u.scheme, u.hostname, u.port, u.path, u.query


def parse_headers(value: str) -> dict[str, str]:
    """OTLP's header format: `k=v,k2=v2`, values URL-decoded. The error never names a value."""
    from urllib.parse import unquote

    out: dict[str, str] = {}
    for i, item in enumerate(value.split(",")):
        if not item.strip():
            continue
        name, eq, raw = item.partition("=")
        if not eq:
            raise ValueError(f"entry {i + 1} is not name=value")
        out[name.strip()] = unquote(raw.strip())
    return check_headers(out)


def check_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Valid header names and values (no line breaks), as a new dict; ValueError names the
    header, never its value."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not name or not set(name) <= _TOKEN:
            raise ValueError(f"bad header name {name!r}")
        if not isinstance(value, str) or any(c in value for c in "\r\n\0"):
            raise ValueError(f"bad value for header {name!r} (value not shown)")
        out[name] = value
    return out


def headers_keyword(value: Any) -> dict[str, str] | None:
    """`init(headers=...)`: a mapping or the OTLP string form. A bad one raises (the app's bug)."""
    if value is None:
        return None
    if isinstance(value, str):
        return parse_headers(value)
    return check_headers(dict(value))


def logs_url(base: str | None, full: bool) -> str | None:
    """The OTLP/HTTP logs URL: a base URL gets `/v1/logs`, unless it already ends with it or
    it came from a var that holds a full URL (OTEL_EXPORTER_OTLP_LOGS_ENDPOINT)."""
    if not base:
        return None
    if full or base.rstrip("/").endswith("/v1/logs"):
        return base
    return base.rstrip("/") + "/v1/logs"


def safe_url(url: str | None) -> str | None:
    """The URL without credentials (`user:pass@` becomes `***@`), for display."""
    if not url or "@" not in url:
        return url
    from urllib.parse import urlsplit, urlunsplit

    u = urlsplit(url)
    if "@" not in u.netloc:
        return url
    return urlunsplit(u._replace(netloc="***@" + u.netloc.rpartition("@")[2]))
