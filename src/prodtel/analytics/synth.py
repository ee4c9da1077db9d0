"""Synthetic prodtel traffic written the way the collector's file exporter writes it.

For the benchmark, tests and trying the report without an app: installations on several OS/arch
pairs upgrade through versions over the days, run commands, send a run summary, sometimes crash
and sometimes opt out. `write_jsonl` encodes records as OTLP/JSON ExportLogsServiceRequest lines.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from prodtel.resource import SDK_VERSION

NS_PER_DAY = 86_400 * 10**9
PLATFORMS = [("linux", "amd64"), ("linux", "arm64"), ("darwin", "arm64"), ("windows", "amd64")]
VERSIONS = ["1.0.0", "1.1.0", "1.2.0", "2.0.0"]
COMMANDS = ["run", "export", "init", "login"]
SEVERITY_TEXT = {9: "INFO", 17: "ERROR", 21: "FATAL"}


@dataclass
class Record:
    """One log record with its resource, as the SDK sends it."""

    ts_ns: int
    resource: dict[str, str]
    event: str
    attrs: dict[str, Any] = field(default_factory=dict)
    severity: int = 9
    uid: str = field(default_factory=lambda: uuid.uuid4().hex)


def resource(
    app: str, version: str, installation: str, session: str, os_type: str, arch: str
) -> dict[str, str]:
    return {
        "service.name": app,
        "service.version": version,
        "os.type": os_type,
        "os.version": "6.1.0",
        "host.arch": arch,
        "process.runtime.name": "cpython",
        "process.runtime.version": "3.11.7",
        "app.installation.id": installation,
        "session.id": session,
        "telemetry.sdk.name": "prodtel",
        "telemetry.sdk.language": "python",
        "telemetry.sdk.version": SDK_VERSION,
    }


def sessions(
    *,
    app: str = "loadgen",
    installations: int = 1000,
    days: int = 30,
    start: dt.date = dt.date(2026, 1, 1),
    events_per_session: int = 10,
    seed: int = 7,
) -> Iterator[list[Record]]:
    """Yield one list of records per session (process run), in day order."""
    rng = random.Random(seed)
    day0 = int(dt.datetime.combine(start, dt.time(), dt.UTC).timestamp()) * 10**9
    users = []
    for i in range(installations):
        os_type, arch = rng.choice(PLATFORMS)
        first = rng.randrange(days)
        users.append((f"inst-{i:06d}-{rng.getrandbits(32):08x}", os_type, arch, first))
    opted_out: set[str] = set()
    for day in range(days):
        for iid, os_type, arch, first in users:
            if day < first or iid in opted_out or (day > first and rng.random() > 0.5):
                continue
            # Newer installations start on newer versions; everyone drifts upwards over time.
            vi = min(len(VERSIONS) - 1, (day * len(VERSIONS)) // days + rng.randrange(2))
            version = VERSIONS[vi]
            res = resource(
                app, version, iid, uuid.UUID(int=rng.getrandbits(128)).hex, os_type, arch
            )
            t = day0 + day * NS_PER_DAY + rng.randrange(NS_PER_DAY - 10**12)
            recs: list[Record] = []
            for _ in range(max(1, events_per_session - 1)):
                t += rng.randrange(10**9)
                recs.append(_usage(rng, t, res))
            t += 10**6
            recs.append(Record(t, res, "usage_report", _run_summary(rng.uniform(1, 600))))
            roll = rng.random()
            if roll < 0.02 * (1 + vi % 2):
                recs.append(_exception(t + 1, res, handled=False))
            elif roll < 0.06:
                recs.append(_exception(t + 1, res, handled=True))
            if rng.random() < 0.003:
                recs.append(Record(t + 2, res, "TelemetryDisabled", {"source": "command"}))
                opted_out.add(iid)
            for r in recs:
                r.uid = f"{rng.getrandbits(128):032x}"
            yield recs


def _run_summary(duration: float) -> dict[str, Any]:
    # Derived from the duration, not drawn: the random stream (and the bench data) stays the same.
    n = int(duration * 1000)
    return {
        "duration": round(duration, 3),
        "vus_max": 1 + n % 50,
        "iterations": 10 * (1 + n % 97),
        "executor": "constant-vus" if n % 3 else "shared-iterations",
    }


def _usage(rng: random.Random, t: int, res: dict[str, str]) -> Record:
    if rng.random() < 0.8:
        cmd = rng.choice(COMMANDS)
        ok = rng.random() > 0.05
        attrs: dict[str, Any] = {
            "command": cmd,
            "duration_ms": round(rng.lognormvariate(4 + COMMANDS.index(cmd), 0.7), 3),
            "outcome": "ok" if ok else "error",
        }
        if not ok:
            attrs["error_type"] = "TimeoutError"
        return Record(t, res, "command", attrs)
    return Record(t, res, "script_exported", {"format": rng.choice(["js", "json"])})


def _exception(t: int, res: dict[str, str], handled: bool) -> Record:
    return Record(
        t,
        res,
        "exception",
        {
            "exception.type": "ValueError" if handled else "RuntimeError",
            "exception.message": "synthetic failure",
            "exception.stacktrace": 'Traceback (most recent call last):\n  File "app.py"',
            "exception.handled": handled,
        },
        severity=17 if handled else 21,
    )


# -- OTLP/JSON encoding ------------------------------------------------------------------------
def any_value(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    return {"stringValue": str(v)}


def _kvs(d: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": any_value(v)} for k, v in d.items()]


def request(batches: Iterable[list[Record]]) -> dict[str, Any]:
    """One ExportLogsServiceRequest: a resourceLogs entry per batch (one resource each)."""
    out = []
    for recs in batches:
        if not recs:
            continue
        out.append(
            {
                "resource": {"attributes": _kvs(recs[0].resource)},
                "scopeLogs": [
                    {
                        "scope": {"name": "prodtel", "version": SDK_VERSION},
                        "logRecords": [
                            {
                                "timeUnixNano": str(r.ts_ns),
                                "observedTimeUnixNano": str(r.ts_ns),
                                "severityNumber": r.severity,
                                "severityText": SEVERITY_TEXT.get(r.severity, ""),
                                "body": {},
                                "attributes": _kvs({**r.attrs, "log.record.uid": r.uid}),
                                "eventName": r.event,
                            }
                            for r in recs
                        ],
                    }
                ],
            }
        )
    return {"resourceLogs": out}


def write_jsonl(
    batches: Iterable[list[Record]], out: Path | TextIO, per_line: int = 4
) -> tuple[int, int]:
    """Write `per_line` batches per JSON line, like the collector's batch processor merges
    requests. Returns (lines, records)."""
    if isinstance(out, Path):
        with out.open("a", encoding="utf-8") as f:
            return write_jsonl(batches, f, per_line)
    lines = records = 0
    pending: list[list[Record]] = []
    for b in batches:
        pending.append(b)
        records += len(b)
        if len(pending) >= per_line:
            out.write(json.dumps(request(pending), separators=(",", ":")) + "\n")
            lines += 1
            pending = []
    if pending:
        out.write(json.dumps(request(pending), separators=(",", ":")) + "\n")
        lines += 1
    return lines, records
