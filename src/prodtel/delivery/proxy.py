"""Which forward proxy a request goes through: HTTPS_PROXY / HTTP_PROXY / NO_PROXY (and the
lower-case forms), decided by the standard library's own logic (urllib.request), as every
Python HTTP client does.

urllib.request costs ~10 ms to import, so it is imported only when a `*_proxy` variable is
present at all: a process without one pays a scan of os.environ and nothing else.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


class Proxy:
    """A forward proxy: where to connect, and the Proxy-Authorization header its URL's
    credentials make (never shown: `display` masks them)."""

    __slots__ = ("auth", "display", "host", "port")

    def __init__(self, host: str, port: int, auth: str | None, display: str) -> None:
        self.host = host
        self.port = port
        self.auth = auth
        self.display = display

    def __repr__(self) -> str:
        return f"Proxy({self.display})"


def any_proxy_var(environ: Mapping[str, str] | None = None) -> bool:
    """Is any `*_proxy` variable set (the cheap test before importing urllib.request)?"""
    env = os.environ if environ is None else environ
    return any(k[-6:].lower() == "_proxy" and v for k, v in env.items())


def find_proxy(url: str) -> Proxy | None:
    """The proxy for `url` per the process environment, or None (none set, or NO_PROXY)."""
    if not any_proxy_var():
        return None
    from urllib.parse import urlsplit
    from urllib.request import (  # type: ignore[attr-defined]  # not in typeshed
        getproxies_environment,
        proxy_bypass_environment,
    )

    u = urlsplit(url)
    proxies = getproxies_environment()
    chosen = proxies.get(u.scheme) or proxies.get("all")
    if not chosen or not u.hostname:
        return None
    netloc = u.hostname if u.port is None else f"{u.hostname}:{u.port}"
    try:
        if proxy_bypass_environment(netloc, proxies):
            return None
    except Exception:  # a malformed NO_PROXY entry: the stdlib decides nothing, so proxy
        pass
    return parse_proxy(chosen)


def parse_proxy(value: str) -> Proxy | None:
    """A proxy URL (`http://user:pass@host:port`, or just `host:port`) -> Proxy; None if bad."""
    from urllib.parse import unquote, urlsplit

    if "://" not in value:
        value = "http://" + value
    try:
        u = urlsplit(value)
        port = u.port or 80
    except ValueError:
        return None
    if not u.hostname:
        return None
    auth = None
    shown_host = f"{u.hostname}:{port}"
    if u.username is not None:
        import base64

        pair = f"{unquote(u.username)}:{unquote(u.password or '')}".encode()
        auth = "Basic " + base64.b64encode(pair).decode("ascii")
        shown_host = "***@" + shown_host
    return Proxy(u.hostname, port, auth, f"{u.scheme}://{shown_host}")
