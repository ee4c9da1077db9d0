"""What each `telemetry` command does and says. Data first (`--json` prints it as is), then a
rendering that reads well for a person."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from prodtel.cli.delivery_status import describe
from prodtel.cli.delivery_status import explain as explain_endpoint
from prodtel.consent import levels
from prodtel.endpoint import safe_url

if TYPE_CHECKING:
    from prodtel.telemetry import Telemetry


def status(t: Telemetry, explain: bool = False) -> dict[str, Any]:
    d = t.decision
    st = t.store  # status always reads the file, to show where the choice lives
    data: dict[str, Any] = {
        "app": t.settings.app,
        "level": d.level_name,
        "enabled": d.level > levels.OFF,
        "decided_by": d.winner,
        "policy": t.settings.policy,
        "config_file": st.path,
        "installation_id": st.get("installation_id"),
        "notice_shown_at": st.get("notice_shown_at"),
        "notice": t.settings.notice,
        "why": None,
        "how_to_enable": None,
        "endpoint": safe_url(t.settings.logs_url),
        "delivery": _delivery(t),
        "ci": d.ci,
        "agent": d.agent,
        "problems": list(d.problems)
        + ([st.problem] if st.problem and st.problem not in d.problems else []),
        "drops": dict(t.drops),
        "stats": dict(t.stats),
        "outbox": _outbox(t),
    }
    data["problems"] += _delivery_problems(data["delivery"])
    data["problems"] += [p for p in data["outbox"]["problems"] if p not in data["problems"]]
    from prodtel.consent.resolve import seen_version

    version = t.settings.catalog.policy.consent_version
    data["consent_version"] = {"app": version, "seen": seen_version(st)}
    if d.first_run:
        from prodtel import notice

        shown = st.get("notice_shown_at") if seen_version(st) >= version else None
        data["why"], data["how_to_enable"] = notice.why_off(t.settings, shown)
        if d.winner.startswith("consent version"):
            data["why"] = (
                f"the app now collects new kinds of data (consent version {version}); nothing "
                "is sent until its notice has been shown"
            )
    if explain:
        data["sources"] = [s.as_dict() for s in d.sources]
        data["endpoint_sources"] = explain_endpoint(t.settings)
    return data


def _delivery(t: Telemetry) -> dict[str, Any]:
    """Endpoint, its source, header names, CA, proxy, the last delivery error: never a header
    value or a credential."""
    from prodtel.delivery.health import last_error

    out = describe(t.settings)
    failed = last_error(t.state_dir) if t.settings.logs_url else None
    out["last_error"], out["last_error_at"] = failed or (None, None)
    return out


def _delivery_problems(delivery: dict[str, Any]) -> list[str]:
    if not delivery.get("last_error"):
        return []
    return [
        f"delivery failing since {delivery['last_error_at']}: {delivery['last_error']} "
        "(records wait in the outbox)"
    ]


def _outbox(t: Telemetry) -> dict[str, Any]:
    """Pending records and the counters every run of this app has persisted, and what is
    wrong with the state dir (unwritable, full, a corrupt outbox moved aside)."""
    from prodtel.delivery import statedir
    from prodtel.delivery.outbox import Outbox

    box = Outbox(t.state_dir)
    out: dict[str, Any] = {"path": box.path}
    problems: list[str] = []
    try:
        out.update(pending=box.pending(), counters=box.counters())
    except Exception as e:  # status must work even when the state dir is broken
        problems.append(f"outbox {box.path} cannot be read: {e}")
    finally:
        box.close()
    live = t.worker.sink.problems() if t.worker is not None else []
    for p in [
        *live,
        *([box.problem] if box.problem else []),
        *statedir.problems(t.state_dir, box.path),
    ]:
        if p not in problems:
            problems.append(p)
    out["problems"] = problems
    return out


def render_status(data: dict[str, Any]) -> str:
    state = "ON" if data["enabled"] else "OFF"
    if data["level"] == "local":
        state = "LOCAL (recorded on this machine, nothing is sent)"
    lines = [
        f"{data['app']} telemetry is {state} (level: {data['level']})",
        f"  decided by: {data['decided_by']}",
        *([f"  why:        {data['why']}"] if data.get("why") else []),
        *([f"  to turn on: {data['how_to_enable']}"] if data.get("how_to_enable") else []),
        f"  policy:     {data['policy']}",
        f"  config:     {data['config_file']}",
    ]
    if data.get("installation_id"):
        lines.append(f"  install id: {data['installation_id']}")
    lines += _render_delivery(data.get("delivery", {}))
    for p in data["problems"]:
        lines.append(f"  problem:    {p}")
    box = data.get("outbox", {})
    if "pending" in box:
        lines.append(f"  outbox:     {box['pending']} pending ({box['path']})")
    counters = {**box.get("counters", {}), **data["drops"]}
    if counters:
        lines.append("  counters:   " + ", ".join(f"{k}={v}" for k, v in sorted(counters.items())))
    if "sources" in data:
        lines.append("")
        lines.append("Every source, in the order they are applied (opt-outs always win):")
        rows = [("source", "value", "where", "effect")] + [
            (s["name"], "-" if s["value"] is None else str(s["value"]), s["where"], s["effect"])
            for s in data["sources"]
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for i, r in enumerate(rows):
            mark = "=>" if _decided(r[0], data["decided_by"]) and i else "  "
            lines.append(f"{mark} " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    if "endpoint_sources" in data:
        lines += _render_endpoint_sources(data["endpoint_sources"])
    return "\n".join(lines)


def _render_delivery(dl: dict[str, Any]) -> list[str]:
    if not dl:
        return []
    where = dl["endpoint"] or "none (nothing is sent)"
    lines = [f"  endpoint:   {where} (from {_source_name(dl['endpoint_source'])})"]
    if dl.get("proxy"):
        lines.append(f"  proxy:      {dl['proxy']}")
    if dl.get("headers"):
        lines.append(f"  headers:    {', '.join(dl['headers'])} (values not shown)")
    if dl.get("ca_file"):
        lines.append(f"  CA file:    {dl['ca_file']}")
    return lines


def _render_endpoint_sources(rows: list[dict[str, Any]]) -> list[str]:
    table = [("endpoint source", "value", "effect")] + [
        (r["name"], "-" if r["value"] is None else str(r["value"]), r["effect"]) for r in rows
    ]
    widths = [max(len(r[i]) for r in table) for i in range(3)]
    lines = ["", "Where the endpoint comes from, first set wins:"]
    for i, r in enumerate(table):
        mark = "=>" if i and r[2].startswith("wins") else "  "
        lines.append(f"{mark} " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    return lines


def _source_name(source: str | None) -> str:
    if source in (None, "default"):
        return "no setting"
    return "init(endpoint=)" if source == "init()" else f"env {source}"


def _decided(source: str, winner: str) -> bool:
    return winner == source or (source == "policy default" and winner.startswith("policy"))


def enable(t: Telemetry, level: str = "all") -> dict[str, Any]:
    choice = levels.parse_choice(level)
    if choice is None or choice[0] == levels.OFF:
        raise ValueError(f"level must be crash, error, all or local, not {level!r}")
    lv, local = choice
    d = t.enable(lv, source="command", local=local)
    requested = levels.LOCAL if local else levels.name(lv)
    out = {"requested": requested, "level": d.level_name, "decided_by": d.winner}
    if d.level < lv:
        out["note"] = f"saved, but {d.winner} keeps telemetry at {d.level_name}"
    return out


def disable(t: Telemetry, delete: bool = False) -> dict[str, Any]:
    d = t.disable(source="command")
    out: dict[str, Any] = {
        "level": d.level_name,
        "decided_by": d.winner,
        "pending": t.settings.on_disable,
    }
    if delete:
        _purge_outbox(t)  # what the old id still had queued would only be deleted again
        out["pending"] = "purge"
        out.update(t.request_deletion("disable"))
    return out


def _purge_outbox(t: Telemetry) -> None:
    from prodtel.delivery.outbox import Outbox

    try:
        box = Outbox(t.state_dir)
        box.purge()
        box.close()
    except Exception:  # a broken state dir must not stop the deletion request
        pass


def show(t: Telemetry, n: int = 20) -> list[dict[str, Any]]:
    """The last records sent; at level `local`, the last ones kept instead of sent."""
    from prodtel import sentlog

    if t.decision.local:
        return sentlog.read(t.state_dir, n, sentlog.LOCAL_FILENAME)
    return sentlog.read(t.state_dir, n)


def pending(t: Telemetry, limit: int = 20) -> list[dict[str, Any]]:
    """Recorded and not sent yet: the outbox (all processes of this app) and this process."""
    import gzip

    from prodtel.delivery.encode import decode
    from prodtel.delivery.outbox import Outbox
    from prodtel.record import NAME, merged

    out: list[dict[str, Any]] = []
    box = Outbox(t.state_dir)
    try:
        stored = box.peek_kinds(limit)
    finally:
        box.close()
    for kind, body in stored:
        try:
            request = decode(gzip.decompress(body), kind)
        except Exception:  # a damaged row: show the rest
            out.append({"event": "(unreadable stored request)", "attributes": {}})
            continue
        if kind == "traces":
            out += _pending_spans(request)
            continue
        for rl in request:
            for sl in rl.get("scopeLogs", []):
                for rec in sl.get("logRecords", []):
                    out.append(
                        {
                            "event": rec.get("eventName", ""),
                            "attributes": {
                                kv["key"]: next(iter(kv.get("value", {}).values()), None)
                                for kv in rec.get("attributes", [])
                            },
                        }
                    )
    if t.worker is not None:
        out += [{"event": r[NAME], "attributes": merged(r)} for r in t.worker.queue]
    return out


def _pending_spans(resource_spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "event": s.get("name", ""),
            "kind": "span",
            "attributes": {
                kv["key"]: next(iter(kv.get("value", {}).values()), None)
                for kv in s.get("attributes", [])
            },
        }
        for rs in resource_spans
        for ss in rs.get("scopeSpans", [])
        for s in ss.get("spans", [])
    ]


def catalog(t: Telemetry) -> dict[str, Any]:
    """Everything the app can send, for a security or legal review (catalog_view.py)."""
    from prodtel import catalog_view

    return catalog_view.describe(t.settings.catalog)


def reset_id(t: Telemetry, delete: bool = False) -> dict[str, Any]:
    if delete:
        return t.request_deletion("reset-id")
    return {"installation_id": t.reset_id()}


def deletion_text(app: str, data: dict[str, Any]) -> str:
    """What `--delete` did, in words."""
    old = data.get("deleted_installation_id")
    if old is None:
        return f"{app} had no installation id yet: there is nothing to delete."
    when = (
        "The deletion request was delivered."
        if data["request_delivered"]
        else "The endpoint could not be reached: the request is kept and retried by the next run."
    )
    return (
        f"Asked for every analytics record of installation {old} to be deleted. {when}"
        f" New installation id: {data['installation_id']}. Error reports already in an error"
        " tracker (Sentry) are not covered."
    )


def render(data: Any) -> str:
    if isinstance(data, list):
        if not data:
            return "(none)"
        return "\n".join(
            f"{r.get('time', '')}  {r.get('event', '')}  "
            f"{json.dumps(r.get('attributes', {}), sort_keys=True)}"
            for r in data
        )
    return "\n".join(f"{k}: {v}" for k, v in data.items())
