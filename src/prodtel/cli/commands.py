"""What each `telemetry` command does and says. Data first (`--json` prints it as is), then a
rendering that reads well for a person."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from prodtel.consent import levels

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
        "endpoint": t.settings.logs_url,
        "ci": d.ci,
        "problems": list(d.problems)
        + ([st.problem] if st.problem and st.problem not in d.problems else []),
        "drops": dict(t.drops),
        "stats": dict(t.stats),
        "outbox": _outbox(t),
    }
    if d.first_run:
        from prodtel import notice

        data["why"], data["how_to_enable"] = notice.why_off(t.settings, st.get("notice_shown_at"))
    if explain:
        data["sources"] = [s.as_dict() for s in d.sources]
    return data


def _outbox(t: Telemetry) -> dict[str, Any]:
    """Pending records and the counters every run of this app has persisted."""
    from prodtel.delivery.outbox import Outbox

    try:
        box = Outbox(t.state_dir)
        return {"path": box.path, "pending": box.pending(), "counters": box.counters()}
    except Exception as e:  # status must work even when the state dir is broken
        return {"problem": str(e)}


def render_status(data: dict[str, Any]) -> str:
    state = "ON" if data["enabled"] else "OFF"
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
    return "\n".join(lines)


def _decided(source: str, winner: str) -> bool:
    return winner == source or (source == "policy default" and winner.startswith("policy"))


def enable(t: Telemetry, level: str = "all") -> dict[str, Any]:
    lv = levels.parse(level)
    if lv is None or lv == levels.OFF:
        raise ValueError(f"level must be crash, error or all, not {level!r}")
    d = t.enable(lv, source="command")
    out = {"requested": levels.name(lv), "level": d.level_name, "decided_by": d.winner}
    if d.level < lv:
        out["note"] = f"saved, but {d.winner} keeps telemetry at {d.level_name}"
    return out


def disable(t: Telemetry) -> dict[str, Any]:
    d = t.disable(source="command")
    return {"level": d.level_name, "decided_by": d.winner, "pending": t.settings.on_disable}


def show(t: Telemetry, n: int = 20) -> list[dict[str, Any]]:
    from prodtel import sentlog

    return sentlog.read(t.state_dir, n)


def pending(t: Telemetry, limit: int = 20) -> list[dict[str, Any]]:
    """Recorded and not sent yet: the outbox (all processes of this app) and this process."""
    import gzip

    from prodtel.delivery.encode import decode
    from prodtel.delivery.outbox import Outbox
    from prodtel.record import NAME, merged

    out: list[dict[str, Any]] = []
    for kind, body in Outbox(t.state_dir).peek_kinds(limit):
        if kind == "traces":
            out += _pending_spans(decode(gzip.decompress(body), kind))
            continue
        for rl in decode(gzip.decompress(body)):
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


def reset_id(t: Telemetry) -> dict[str, Any]:
    return {"installation_id": t.reset_id()}


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
