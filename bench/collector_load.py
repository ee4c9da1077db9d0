"""Load the collector's full generated pipeline and report what it accepts, refuses and costs.

    .venv/bin/python bench/collector_load.py                 # 3 clients, 20 s
    .venv/bin/python bench/collector_load.py --clients 6 --seconds 30 --batch 4096

The collector runs the loadgen config (collector-config/loadgen.yaml as generated) with a fixed
memory budget: GOMEMLIMIT plus memory_limiter limits. Client processes post pre-encoded, gzipped
OTLP/HTTP batches (the SDK's wire format: prodtel.delivery.encode) as fast as the collector
answers, over keep-alive connections. Each batch mixes catalog events, an exception, an unknown
event and undeclared attributes, so every processor works. Printed every second: accepted events/s,
refusals (429/503, the memory limiter pushing back), the collector's RSS and peak RSS (VmHWM).
At the end, the records the exporters wrote are counted, to show accepted == delivered.
`--pipeline both` also runs a bare collector (OTLP in, batch, file out) for the ratio.
`--pipeline compare` runs the generated pipeline (persistent queues, no batch processor: a 200
means stored) against the previous one (batch processor in front, in-memory queues: a 200 meant
"in a batch in memory"), reporting events/s and request latency (p50/p99) for each.
`--analytics clickhouse` sends analytics through the clickhouse exporter to chDB behind
ClickHouse's HTTP interface on loopback (tests/support/chdb_http.py) instead of the file.
"""

from __future__ import annotations

import argparse
import array
import gzip
import http.client
import multiprocessing as mp
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples/loadgen"))

from tests.support.chdb_http import chdb_exec, chdb_http  # noqa: E402
from tests.support.collector import Collector  # noqa: E402
from tests.support.loopback import free_port  # noqa: E402

from prodtel.collector_config import generate, to_yaml  # noqa: E402
from prodtel.delivery.encode import Encoder  # noqa: E402

# Per-client counters in shared memory: accepted events, requests, 429s, 503s, other failures.
ACCEPTED, REQUESTS, R429, R503, OTHER = range(5)
BODIES_PER_CLIENT = 8


def batch(
    n: int, exc_every: int = 100
) -> list[tuple[int, int, str, dict[str, object], dict[str, object]]]:
    """n records: mostly usage, one exception (1.7 KB traceback) every `exc_every` records (0:
    none), 1% unknown events, some undeclared attributes."""
    now = time.time_ns()
    recs: list[tuple[int, int, str, dict[str, object], dict[str, object]]] = []
    for i in range(n):
        uid = uuid.uuid4().hex
        ctx: dict[str, object] = {"is_ci": i % 2 == 0}
        if exc_every and i % exc_every == 0:
            attrs: dict[str, object] = {
                "exception.type": "ValueError",
                "exception.message": f"bad value {i} from bob@example.com",
                "exception.stacktrace": 'Traceback (most recent call last):\n  File "x.py", '
                "line 1, in <module>\nValueError: bad\n" * 20,
                "exception.handled": True,
            }
            recs.append((now + i, 17, "exception", {**attrs, "log.record.uid": uid}, ctx))
        elif i % 100 == 1:
            recs.append((now + i, 9, "not_in_catalog", {"log.record.uid": uid}, ctx))
        elif i % 3 == 0:
            attrs = {"command": "run", "duration_ms": 12.5, "outcome": "ok", "debug": "x" * 40}
            recs.append((now + i, 9, "command", {**attrs, "log.record.uid": uid}, ctx))
        else:
            attrs = {
                "vus_max": 10,
                "iterations": i,
                "duration": 30.0,
                "st_duration": 30.0,
                "executor": "constant-vus",
            }
            recs.append((now + i, 9, "usage_report", {**attrs, "log.record.uid": uid}, ctx))
    return recs


def expected_delivered(n: int, exc_every: int) -> int:
    return sum(1 for r in batch(n, exc_every) if r[2] != "not_in_catalog")


def client(
    port: int, size: int, exc_every: int, deadline: float, counters: object, lat_file: str
) -> None:
    resource = {
        "service.name": "loadgen",
        "service.version": "0.3.0",
        "os.type": "linux",
        "os.version": "6.1.0",
        "host.arch": "amd64",
        "process.runtime.name": "cpython",
        "process.runtime.version": "3.11.7",
        "app.installation.id": str(uuid.uuid4()),
        "session.id": str(uuid.uuid4()),
        "telemetry.sdk.name": "prodtel",
        "telemetry.sdk.language": "python",
        "telemetry.sdk.version": "0.1.0",
        "host.name": "dropped-by-the-collector",
    }
    enc = Encoder(resource)
    bodies = [
        gzip.compress(enc.encode(batch(size, exc_every)), 1) for _ in range(BODIES_PER_CLIENT)
    ]
    c: list[int] = counters  # type: ignore[assignment]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}
    i = 0
    latencies = array.array("d")
    while time.monotonic() < deadline:
        try:
            t = time.perf_counter()
            conn.request("POST", "/v1/logs", bodies[i % BODIES_PER_CLIENT], headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status == 200:
                latencies.append(time.perf_counter() - t)
        except (OSError, http.client.HTTPException):
            c[OTHER] += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            time.sleep(0.05)
            continue
        i += 1
        c[REQUESTS] += 1
        if resp.status == 200:
            c[ACCEPTED] += size
        elif resp.status == 429:
            c[R429] += 1
        elif resp.status == 503:
            c[R503] += 1
        else:
            c[OTHER] += 1
        if resp.status != 200:
            time.sleep(0.05)  # back off a little, as a client should
    conn.close()
    with open(lat_file, "wb") as f:
        latencies.tofile(f)


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM in MiB."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(rest.split()[0]) // 1024
    except OSError:
        pass
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count_records(data: Path, stem: str) -> int:
    """Log records the file exporter wrote to <stem>.jsonl and its rotated backups."""
    return sum(p.read_bytes().count(b'"eventName"') for p in data.glob(f"{stem}*.jsonl"))


# The baseline: OTLP in, memory_limiter and batch, one file out; no catalog, redaction or routing.
BARE = """
receivers:
  otlp:
    protocols:
      http:
        endpoint: ${env:PRODTEL_OTLP_HTTP_ENDPOINT}
processors:
  memory_limiter:
    check_interval: 1s
    limit_mib: ${env:PRODTEL_MEMORY_LIMIT_MIB}
    spike_limit_mib: ${env:PRODTEL_MEMORY_SPIKE_MIB}
  batch:
    send_batch_size: 8192
    timeout: 200ms
exporters:
  file/analytics:
    path: ${env:PRODTEL_DATA_DIR}/analytics.jsonl
    create_directory: true
    rotation:
      max_megabytes: 100
extensions:
  health_check:
    endpoint: ${env:PRODTEL_HEALTH_ENDPOINT}
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [file/analytics]
"""


def previous(config: str) -> str:
    """The generated pipeline as it was before persistent queues: a batch processor in front of
    the routing (it answers 200 before export) and in-memory sending queues."""
    import yaml

    cfg = yaml.safe_load(config)
    cfg["processors"]["batch"] = {
        "send_batch_size": 8192,
        "send_batch_max_size": 16384,
        "timeout": "200ms",
    }
    cfg["service"]["pipelines"]["logs"]["processors"].append("batch")
    for exp in cfg["exporters"].values():
        q = exp.get("sending_queue")
        if q:
            q.pop("storage", None)
            q.pop("sizer", None)
            q["queue_size"] = 100
    del cfg["extensions"]["file_storage/queue"]
    cfg["service"]["extensions"].remove("file_storage/queue")
    return to_yaml(cfg)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def count_rows(port: int) -> int:
    import json
    import urllib.parse
    import urllib.request

    q = urllib.parse.urlencode({"query": "SELECT count() FROM otel_logs FORMAT JSONCompact"})
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/?{q}", timeout=60) as r:
        return int(json.loads(r.read())["data"][0][0])


def run(pipeline: str, args: argparse.Namespace) -> dict[str, float]:
    """One timed run against a fresh collector; prints progress and a summary."""
    with tempfile.TemporaryDirectory(prefix="prodtel-collector-load-") as tmp:
        if args.analytics == "clickhouse":
            ddl = (ROOT / "collector-config/clickhouse/otel_logs.sql").read_text()
            chdb_exec(Path(tmp) / "ch", ddl)
            with chdb_http(Path(tmp) / "ch", Path(tmp) / "queries.jsonl") as port:
                return _run(pipeline, args, Path(tmp), port)
        return _run(pipeline, args, Path(tmp), None)


def _run(pipeline: str, args: argparse.Namespace, work: Path, ch: int | None) -> dict[str, float]:
    from telemetry_catalog import CATALOG

    budget = args.memory_mib
    if True:
        data = work / "data"
        generated = generate(CATALOG)
        config = {"full": generated, "previous": previous(generated)}.get(pipeline, BARE)
        col = Collector(work / "collector", config=config)
        col.env.update(
            {
                "PRODTEL_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{col.http_port}",
                "PRODTEL_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{col.grpc_port}",
                "PRODTEL_HEALTH_ENDPOINT": f"127.0.0.1:{col.health_port}",
                "PRODTEL_METRICS_PORT": str(free_port()),
                "PRODTEL_DATA_DIR": str(data),
                # The chart's defaults: GOMEMLIMIT 80%, memory_limiter at 80% with a 20% spike.
                "GOMEMLIMIT": f"{budget * 80 // 100}MiB",
                "PRODTEL_MEMORY_LIMIT_MIB": str(budget * 80 // 100),
                "PRODTEL_MEMORY_SPIKE_MIB": str(budget * 20 // 100),
                "PRODTEL_QUEUE_DIR": str(work / "queue"),
            }
        )
        if ch is not None:
            col.env.update(
                {
                    "PRODTEL_ANALYTICS_EXPORTERS": "[clickhouse]",
                    "CLICKHOUSE_ENDPOINT": f"http://127.0.0.1:{ch}",
                    "CLICKHOUSE_COMPRESS": "none",
                }
            )
        what = {
            "full": "generated pipeline (persistent queues, a 200 means stored)",
            "previous": "previous pipeline (batch processor, in-memory queues)",
        }.get(pipeline, "bare pipeline (baseline)")
        what += f", analytics to {args.analytics}"
        print(
            f"collector: {what}, budget {budget} MiB "
            f"(GOMEMLIMIT={col.env['GOMEMLIMIT']}, memory_limiter "
            f"{col.env['PRODTEL_MEMORY_LIMIT_MIB']}/{col.env['PRODTEL_MEMORY_SPIKE_MIB']} MiB); "
            f"{args.clients} clients x {args.batch} records/request, {args.seconds:.0f} s",
            flush=True,
        )
        with col:
            assert col.proc is not None
            pid = col.proc.pid
            ctx = mp.get_context("fork")
            counters = [ctx.RawArray("q", 5) for _ in range(args.clients)]
            start = time.monotonic() + 2.0  # clients encode their batches first
            deadline = start + args.seconds
            lat_files = [str(work / f"lat-{i}.bin") for i in range(args.clients)]
            procs = [
                ctx.Process(
                    target=client,
                    args=(col.http_port, args.batch, args.exc_every, deadline, c, lf),
                )
                for c, lf in zip(counters, lat_files, strict=True)
            ]
            for p in procs:
                p.start()
            time.sleep(max(0.0, start - time.monotonic()))
            t0 = time.monotonic()
            cpu0 = cpu_seconds(pid)
            last = 0
            peak_rate = 0.0
            while any(p.is_alive() for p in procs):
                time.sleep(1.0)
                tot = [sum(c[k] for c in counters) for k in range(5)]
                rate = tot[ACCEPTED] - last
                last = tot[ACCEPTED]
                peak_rate = max(peak_rate, rate)
                st = proc_status(pid)
                print(
                    f"[{time.monotonic() - t0:5.1f}s] {rate:8,d} events/s  "
                    f"accepted {tot[ACCEPTED]:>10,d}  429 {tot[R429]}  503 {tot[R503]}  "
                    f"other {tot[OTHER]}  rss {st.get('VmRSS', 0)} MiB  "
                    f"peak {st.get('VmHWM', 0)} MiB",
                    flush=True,
                )
            for p in procs:
                p.join()
            elapsed = time.monotonic() - t0
            lat: list[float] = []
            for lf in lat_files:
                a = array.array("d")
                a.frombytes(Path(lf).read_bytes())
                lat += list(a)
            files = lambda: count_records(data, "analytics") + count_records(data, "errors")  # noqa: E731
            written = (lambda: files() + count_rows(ch)) if ch is not None else files
            # Wait until the exporters have caught up (queues drained), at most 120 s.
            settle = time.monotonic() + 120
            before = -1
            while time.monotonic() < settle:
                time.sleep(2.5)
                now = written()
                if now == before:
                    break
                before = now
            hwm = proc_status(pid).get("VmHWM", 0)
            cpu = cpu_seconds(pid) - cpu0
        tot = [sum(c[k] for c in counters) for k in range(5)]
        delivered = written()
    full = pipeline in ("full", "previous")
    per_batch = expected_delivered(args.batch, args.exc_every) if full else args.batch
    expected = tot[ACCEPTED] // args.batch * per_batch
    mean = tot[ACCEPTED] / elapsed
    per_event = cpu / max(tot[ACCEPTED], 1) * 1e6
    print()
    print(f"accepted  {tot[ACCEPTED]:,d} events in {elapsed:.1f} s")
    print(f"          {mean:,.0f} events/s mean, best second {peak_rate:,.0f}")
    print(f"requests  {tot[REQUESTS]:,d}; refused 429: {tot[R429]}, 503: {tot[R503]}")
    print(f"failures  {tot[OTHER]} (connection errors and other statuses)")
    p50, p99 = percentile(lat, 0.5) * 1e3, percentile(lat, 0.99) * 1e3
    print(f"latency   p50 {p50:.1f} ms, p99 {p99:.1f} ms per accepted request")
    print(f"CPU       {cpu:.1f} s of collector CPU, {per_event:.1f} µs per event")
    print(f"peak RSS  {hwm} MiB (VmHWM; budget {budget} MiB)")
    print(f"written   {delivered:,d} records (expected {expected:,d})")
    print(flush=True)
    ok = delivered == expected and tot[OTHER] == 0
    return {"ok": float(ok), "rate": mean, "cpu_us": per_event, "hwm": hwm, "p50": p50, "p99": p99}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--clients", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--batch", type=int, default=512, help="records per request")
    ap.add_argument("--memory-mib", type=int, default=512, help="the collector's memory budget")
    ap.add_argument(
        "--exc-every",
        type=int,
        default=100,
        help="one exception record every N records (0: none); its traceback is 1.7 KB",
    )
    ap.add_argument(
        "--pipeline",
        choices=["full", "bare", "both", "previous", "compare"],
        default="full",
        help="the generated pipeline, the bare baseline, both side by side, the previous"
        " (batch processor, in-memory queues) pipeline, or previous vs full",
    )
    ap.add_argument("--analytics", choices=["file", "clickhouse"], default="file")
    args = ap.parse_args()
    names = {"both": ["bare", "full"], "compare": ["previous", "full"]}.get(
        args.pipeline, [args.pipeline]
    )
    results = {name: run(name, args) for name in names}
    if "previous" in results and "full" in results:
        now, old = results["full"], results["previous"]
        print(
            f"persistent / previous ({args.analytics}): {now['rate']:,.0f} vs "
            f"{old['rate']:,.0f} events/s ({now['rate'] / old['rate']:.2f}x); request latency "
            f"p50 {now['p50']:.1f} vs {old['p50']:.1f} ms, p99 {now['p99']:.1f} vs "
            f"{old['p99']:.1f} ms"
        )
    elif len(results) == 2:
        full, bare = results["full"], results["bare"]
        print(
            f"full / bare: {full['rate'] / bare['rate']:.2f}x the events/s, "
            f"{full['cpu_us'] / bare['cpu_us']:.2f}x the CPU per event, "
            f"peak RSS {full['hwm']:.0f} vs {bare['hwm']:.0f} MiB"
        )
    return 0 if all(r["ok"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
