"""What `telemetry status` shows about delivery: every endpoint source in precedence order and
the settings in force, never a header value or a credential."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prodtel.endpoint import parse_url, safe_url

if TYPE_CHECKING:
    from prodtel.config import Settings


def explain(settings: Settings) -> list[dict[str, str | None]]:
    """One row per endpoint source in precedence order, for `status --explain`: its value
    (credentials masked) and its effect. Rows for the host's OTel vars say why they are ignored."""
    from prodtel.config_params import PARAMS

    spec = next(p for p in PARAMS if p.name == "endpoint")
    env, won = settings.environ, settings.sources.get("endpoint")
    active = spec.env_vars(settings.app, settings.otel_env)
    rows: list[dict[str, str | None]] = []
    for var in spec.env_vars(settings.app, True):
        raw = env.get(var) or None
        if var not in active:
            effect = "not set" if raw is None else "ignored: the host's OTel setting (otel_env)"
        elif var == won:
            effect = "wins"
        elif raw is None:
            effect = "not set"
        else:
            try:
                parse_url(raw)
                effect = "overridden"
            except ValueError:
                effect = "ignored: not an http(s) URL"
        rows.append({"name": f"env {var}", "value": safe_url(raw), "effect": effect})
    given = settings.given_endpoint
    kw = "wins" if won == "init()" else "not set" if given is None else "overridden"
    rows.append({"name": "init(endpoint=)", "value": safe_url(given), "effect": kw})
    if won == "default":
        rows.append({"name": "default", "value": None, "effect": "wins: nothing is sent"})
    return rows


def describe(settings: Settings) -> dict[str, Any]:
    """What `status` shows about delivery settings: no header values, no credentials."""
    from prodtel.delivery.proxy import find_proxy

    url = settings.logs_url
    proxy = find_proxy(url) if url else None
    return {
        "endpoint": safe_url(url),
        "endpoint_source": settings.sources.get("endpoint"),
        "headers": sorted(settings.headers),
        "ca_file": settings.ca_file,
        "client_cert": settings.client_cert,
        "request_timeout": settings.request_timeout,
        "proxy": proxy.display if proxy else None,
    }
