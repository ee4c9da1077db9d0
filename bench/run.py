"""prodtel's bench suite: prodtel side by side with raw OpenTelemetry and the peers, in one run.

    make bench                      # every section
    .venv/bin/python bench/run.py startup per-event

Each figure is the median of repeats (the machine is shared and noisy); tables give ratios.
Results go to bench/results/latest.md (and a PNG chart when matplotlib is installed).
"""

from __future__ import annotations

import http.server
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.collector import Collector  # noqa: E402

SCEN = ROOT / "bench/scenarios"
RESULTS = ROOT / "bench/results"
PY = sys.executable
OUT: list[str] = []


def progress(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def emit(line: str = "") -> None:
    print(line, flush=True)
    OUT.append(line)


class NullServer:
    """Answers 200 `{}` to everything: the peers' backends, on loopback."""

    def __init__(self) -> None:
        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *a: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def base_env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", "PRODTEL_", "BENCHAPP_"))
        and k not in ("DO_NOT_TRACK", "PYTHONDONTWRITEBYTECODE")
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "cfg"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CACHE_HOME=str(home / "cache"),
    )
    env.update(extra)
    return env


def seen(home: Path) -> None:
    d = home / "cfg/benchapp"
    d.mkdir(parents=True, exist_ok=True)
    (d / "telemetry.json").write_text('{"notice_shown_at": "2026-01-01"}')


def wall_ms(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - t0) * 1000


def section_startup(ctx: dict[str, str], repeats: int) -> None:
    emit("## Import + init, whole process (median wall ms)")
    emit(f"{repeats} runs each. 'overhead' = wall - the same script importing no SDK.\n")
    work = Path(tempfile.mkdtemp())
    off_cfg = work / "offcfg"
    (off_cfg / "cfg/benchapp").mkdir(parents=True)
    (off_cfg / "cfg/benchapp/telemetry.json").write_text('{"level": "off"}')
    on_home = work / "on"
    seen(on_home)
    rows: list[tuple[str, list[str], dict[str, str]]] = [
        (
            "bare python (the same script, no SDK)",
            [str(SCEN / "startup.py"), "bare"],
            base_env(work),
        ),
        ("`python -c pass`, for reference", ["-c", "pass"], base_env(work)),
        ("import prodtel", [str(SCEN / "startup.py"), "prodtel-import"], base_env(work)),
        (
            "prodtel init, off by env var",
            [str(SCEN / "startup.py"), "prodtel"],
            base_env(work, BENCHAPP_TELEMETRY="off"),
        ),
        (
            "prodtel init, off by DO_NOT_TRACK",
            [str(SCEN / "startup.py"), "prodtel"],
            base_env(work, DO_NOT_TRACK="1"),
        ),
        (
            "prodtel init, off by persisted config",
            [str(SCEN / "startup.py"), "prodtel"],
            base_env(off_cfg),
        ),
        (
            "prodtel on: init + 1 event + exit (collector up)",
            [str(SCEN / "startup.py"), "prodtel-event"],
            base_env(on_home, BENCH_ENDPOINT=ctx["collector"]),
        ),
        (
            "raw OTel SDK + OTLP/HTTP: init + 1 event + exit",
            [str(SCEN / "startup.py"), "otel"],
            base_env(work, BENCH_ENDPOINT=ctx["collector"]),
        ),
        (
            "posthog: init + 1 event + exit",
            [str(SCEN / "startup.py"), "posthog"],
            base_env(work, BENCH_ENDPOINT=ctx["null"]),
        ),
        (
            "segment: init + 1 event + exit",
            [str(SCEN / "startup.py"), "segment"],
            base_env(work, BENCH_ENDPOINT=ctx["null"]),
        ),
        (
            "sentry-sdk: init + 1 message + exit",
            [str(SCEN / "startup.py"), "sentry"],
            base_env(work, BENCH_ENDPOINT=ctx["null"]),
        ),
        # Each peer's own opt-out, as an app applies a user's persisted "no".
        (
            "posthog, off (disabled=True): init + 1 event + exit",
            [str(SCEN / "startup.py"), "posthog-off"],
            base_env(work, BENCH_ENDPOINT=ctx["null"]),
        ),
        (
            "segment, off (send=False): init + 1 event + exit",
            [str(SCEN / "startup.py"), "segment-off"],
            base_env(work, BENCH_ENDPOINT=ctx["null"]),
        ),
        (
            "sentry-sdk, off (no DSN): init + 1 message + exit",
            [str(SCEN / "startup.py"), "sentry-off"],
            base_env(work, BENCH_ENDPOINT=ctx["null"]),
        ),
    ]
    # Rounds over every row, so a change in the machine's load hits all rows alike.
    times: dict[str, list[float]] = {label: [] for label, _, _ in rows}
    for r in range(repeats):
        progress(f"startup: round {r + 1}/{repeats} ({len(rows)} rows)")
        for label, args, env in rows:
            times[label].append(wall_ms([PY, *args], env))
    results = {label: statistics.median(v) for label, v in times.items()}
    bare = results[rows[0][0]]
    otel = results["raw OTel SDK + OTLP/HTTP: init + 1 event + exit"] - bare
    emit("| setup | wall ms | overhead ms | overhead / raw OTel's |")
    emit("|---|---:|---:|---:|")
    for label, ms in results.items():
        over = ms - bare
        emit(f"| {label} | {ms:.1f} | {over:.1f} | {over / otel:.2f} |")
    emit()
    CHART["startup overhead (ms)"] = {k.split(":")[0]: v - bare for k, v in results.items()}
    TARGETS["init() off by persisted choice, ms over no init (<= 5)"] = (
        results["prodtel init, off by persisted config"] - bare,
        5.0,
        "<=",
    )
    TARGETS["short CLI run on, overhead / raw OTel's (<= 0.25)"] = (
        (results["prodtel on: init + 1 event + exit (collector up)"] - bare) / otel,
        0.25,
        "<=",
    )


def section_per_event(ctx: dict[str, str], repeats: int, n: int) -> None:
    emit("## Per-event cost (median ns/event)")
    emit(
        f"{n} events, {repeats} runs each. Wall time until delivered (flush) / events, so "
        "background CPU counts; sentry breadcrumbs are never sent.\n"
    )
    work = Path(tempfile.mkdtemp())
    seen(work)
    rows = [
        ("bare Python call with the same kwargs", "bare-call", {}),
        ("prodtel track(), telemetry off", "prodtel-off", {"BENCHAPP_TELEMETRY": "off"}),
        (
            "prodtel track(), delivered to the collector",
            "prodtel",
            {"BENCH_ENDPOINT": ctx["collector"]},
        ),
        (
            "raw OTel emit + batch + OTLP/HTTP, delivered",
            "otel",
            {"BENCH_ENDPOINT": ctx["collector"]},
        ),
        ("posthog capture, delivered", "posthog", {"BENCH_ENDPOINT": ctx["null"]}),
        ("segment track, delivered", "segment", {"BENCH_ENDPOINT": ctx["null"]}),
        ("sentry add_breadcrumb", "sentry-breadcrumb", {"BENCH_ENDPOINT": ctx["null"]}),
    ]
    walls: dict[str, list[float]] = {label: [] for label, _, _ in rows}
    callers: dict[str, list[float]] = {label: [] for label, _, _ in rows}
    for i in range(repeats):  # rounds over every row, as in the startup section
        progress(f"per-event: round {i + 1}/{repeats} ({len(rows)} rows, {n} events each)")
        for label, sdk, extra in rows:
            p = subprocess.run(
                [PY, str(SCEN / "per_event.py"), sdk, str(n)],
                env=base_env(work, **extra),
                capture_output=True,
                text=True,
            )
            if p.returncode:
                raise RuntimeError(f"{sdk} failed:\n{p.stderr[-2000:]}")
            out = json.loads(p.stdout.strip().splitlines()[-1])
            walls[label].append(out["ns_per_event"])
            callers[label].append(out["caller_ns_per_event"])
    results = {label: statistics.median(v) for label, v in walls.items()}
    caller = {label: statistics.median(v) for label, v in callers.items()}
    otel = results["raw OTel emit + batch + OTLP/HTTP, delivered"]
    bare = results["bare Python call with the same kwargs"]
    emit(
        "'caller thread' = CPU time of the thread that calls the SDK, during the calls alone "
        "(what the host's thread pays; the SDK's own threads excluded).\n"
    )
    emit("| SDK | ns/event delivered | raw OTel / this | this / bare call | caller thread ns |")
    emit("|---|---:|---:|---:|---:|")
    for label, ns in results.items():
        emit(f"| {label} | {ns:,.0f} | {otel / ns:.2f} | {ns / bare:.2f} | {caller[label]:,.0f} |")
    emit()
    CHART["per-event (ns)"] = dict(results)
    CHART["per-event, caller thread CPU (ns)"] = dict(caller)
    TARGETS["track() delivered, raw OTel / prodtel (>= 5)"] = (
        otel / results["prodtel track(), delivered to the collector"],
        5.0,
        ">=",
    )
    TARGETS["track() caller-thread cost, ns (<= 1500)"] = (
        caller["prodtel track(), delivered to the collector"],
        1500.0,
        "<=",
    )


def section_exit(ctx: dict[str, str], repeats: int) -> None:
    emit("## Exit with 10 events pending (median ms from the end of the program's work to exit)")
    emit(
        f"{repeats} runs each. 'up' = the real collector (peers: a loopback server answering 200);"
        " '100 ms' / '300 ms' = the same behind a userspace proxy delaying every byte that much"
        " each way; 'refused' = nothing listens; 'blackhole' = accepts and never answers;"
        " 'DNS silent' = the endpoint by host name, in a private mount namespace whose resolver"
        " never answers.\n"
    )
    from tests.support import dns, namespace
    from tests.support.delay_proxy import DelayProxy
    from tests.support.loopback import Listener, refused_url

    hole = Listener(blackhole=True)
    silent = dns.SilentResolver() if namespace.available() else None
    proxies: list[DelayProxy] = []

    def delayed(url: str, ms: int) -> str:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        proxies.append(DelayProxy((host, int(port)), ms))
        return proxies[-1].url

    def targets(up: str) -> dict[str, str]:
        out = {
            "up": up,
            "100 ms": delayed(up, 100),
            "300 ms": delayed(up, 300),
            "refused": refused_url(),
            "blackhole": hole.url,
        }
        if silent is not None:
            out["DNS silent"] = "http://telemetry.example.com:" + up.rsplit(":", 1)[1]
        return out

    by_backend = {"collector": targets(ctx["collector"]), "null": targets(ctx["null"])}
    work = Path(tempfile.mkdtemp())
    seen(work)
    sdks = os.environ.get("BENCH_EXIT_SDKS", "prodtel-off,prodtel,otel,posthog,segment,sentry")
    sdks = sdks.split(",")
    table: dict[str, dict[str, float]] = {}
    for sdk in sdks:
        backend = "collector" if sdk in ("prodtel", "prodtel-off", "otel") else "null"
        for mode, url in by_backend[backend].items():
            env = base_env(work, BENCH_ENDPOINT=url)
            if sdk == "prodtel-off":
                env["BENCHAPP_TELEMETRY"] = "off"
            wrap = dns.resolver_cmd([], work) if mode == "DNS silent" else []
            vals = []
            for i in range(repeats):
                progress(f"exit: {sdk} / {mode} ({i + 1}/{repeats})")
                p = subprocess.Popen(
                    [*wrap, PY, str(SCEN / "exit_latency.py"), sdk.removesuffix("-off")],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                )
                assert p.stdout is not None
                line = p.stdout.readline()
                p.wait(timeout=120)
                ended = time.time()
                vals.append((ended - float(line.split()[1])) * 1000)
            table.setdefault(sdk, {})[mode] = statistics.median(vals)
    hole.close()
    for proxy in proxies:
        proxy.close()
    modes = list(by_backend["collector"])
    emit("| SDK | " + " | ".join(modes) + " |")
    emit("|---|" + "---:|" * len(modes))
    for sdk, row in table.items():
        emit(f"| {sdk} | " + " | ".join(f"{row[m]:,.0f}" for m in modes) + " |")
    off = table.get("prodtel-off")
    if off and "prodtel" in table:
        over = " | ".join(f"{table['prodtel'][m] - off[m]:+,.0f}" for m in modes)
        emit(f"| prodtel over telemetry off | {over} |")
    emit(
        "\nprodtel's exit writes what is queued to the outbox and sends it within "
        "PRODTEL_EXIT_TIMEOUT only when the answer can come in time (the POST time is measured "
        "and kept per endpoint) and the host name is already resolved; otherwise a detached "
        "uploader sends it. A request whose answer is late keeps its lease and its socket goes "
        "to the uploader.\n"
    )
    CHART["exit ms (blackhole)"] = {k: v["blackhole"] for k, v in table.items()}
    if silent is not None:
        silent.close()


def section_duplicates(ctx: dict[str, str], runs: int) -> None:
    """Exactly once: `runs` short processes each leave 10 events at exit; count what a fresh
    collector (behind the delaying proxy) got, by log.record.uid, after the uploaders ended."""
    import collections

    from tests.support.delay_proxy import DelayProxy

    emit(f"## Duplicates and losses at exit: {runs} runs x 10 events per column (prodtel)")
    emit("Counted by log.record.uid in the collector's file output, 20 s after the last run.\n")
    emit("| collector | delivered | duplicates | lost |")
    emit("|---|---:|---:|---:|")
    for ms in (0, 100, 300):
        work = Path(tempfile.mkdtemp())
        seen(work)
        with Collector(work / "collector") as c, DelayProxy(("127.0.0.1", c.http_port), ms) as p:
            env = base_env(work, BENCH_ENDPOINT=p.url)
            for i in range(runs):
                progress(f"duplicates: {ms} ms each way ({i + 1}/{runs})")
                subprocess.run(
                    [PY, str(SCEN / "exit_latency.py"), "prodtel"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    check=True,
                )
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if sum(1 for _ in c.log_records()) >= runs * 10:
                    break
                time.sleep(0.5)
            time.sleep(20)  # uploaders still running would add their copies now
            uids = collections.Counter(
                r["attributes"].get("log.record.uid")
                for r in c.log_records()
                if r["event_name"] == "script_exported"
            )
        dups = sum(n - 1 for n in uids.values())
        emit(f"| {ms} ms each way | {len(uids)} | {dups} | {runs * 10 - len(uids)} |")
    emit()


def section_burst(ctx: dict[str, str], n: int) -> None:
    emit(f"## Burst: {n:,} events as fast as possible, delivered to the collector")
    emit(
        "delivered/s = events the collector acknowledged / wall time from the first event "
        "until the last ack. One run each.\n"
    )
    work = Path(tempfile.mkdtemp())
    seen(work)
    rows = {}
    for sdk in ("prodtel", "otel"):
        progress(f"burst: {sdk}, {n:,} events")
        p = subprocess.run(
            [PY, str(SCEN / "burst.py"), sdk, str(n)],
            stdout=subprocess.PIPE,
            env=base_env(work, BENCH_ENDPOINT=ctx["collector"]),
            text=True,
            timeout=3600,
        )
        rows[sdk] = json.loads(p.stdout.strip().splitlines()[-1])
    emit("| SDK | delivered | dropped | seconds | delivered/s | vs raw OTel | peak RSS MB |")
    emit("|---|---:|---:|---:|---:|---:|---:|")
    base = rows["otel"]["delivered_per_s"] or 1
    for sdk, r in rows.items():
        emit(
            f"| {sdk} | {r['delivered']:,} | {r['dropped']:,} | {r['seconds']:.1f} | "
            f"{r['delivered_per_s']:,.0f} | {r['delivered_per_s'] / base:.2f} | "
            f"{r['peak_rss_mb']:.0f} |"
        )
    emit()


CHART: dict[str, dict[str, float]] = {}
TARGETS: dict[str, tuple[float, float, str]] = {}  # issue 18's figures: (value, limit, op)
SECTIONS: dict[str, Callable[[dict[str, str]], None]] = {
    "startup": lambda ctx: section_startup(ctx, repeats=int(os.environ.get("BENCH_REPEATS", 11))),
    "per-event": lambda ctx: section_per_event(
        ctx,
        repeats=int(os.environ.get("BENCH_EVENT_REPEATS", 5)),
        n=int(os.environ.get("BENCH_EVENTS", 20000)),
    ),
    "exit": lambda ctx: section_exit(ctx, repeats=int(os.environ.get("BENCH_EXIT_REPEATS", 5))),
    "duplicates": lambda ctx: section_duplicates(
        ctx, runs=int(os.environ.get("BENCH_DUP_RUNS", 50))
    ),
    "burst": lambda ctx: section_burst(ctx, n=int(os.environ.get("BENCH_BURST", 1_000_000))),
}


def chart(path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        progress("matplotlib not installed: no chart")
        return
    fig, axes = plt.subplots(len(CHART), 1, figsize=(10, 4 * len(CHART)))
    for ax, (title, data) in zip([axes] if len(CHART) == 1 else axes, CHART.items(), strict=True):
        ax.barh(list(data), list(data.values()), color="#4c72b0")
        ax.set_title(title)
        ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path)
    progress(f"chart: {path}")


def main() -> int:
    wanted = sys.argv[1:] or list(SECTIONS)
    RESULTS.mkdir(parents=True, exist_ok=True)
    # Byte-compile prodtel as a wheel install would (the peers' .pyc files come with pip).
    import compileall

    compileall.compile_dir(str(ROOT / "src/prodtel"), quiet=1)
    null = NullServer()
    with Collector(Path(tempfile.mkdtemp()) / "collector") as c:
        ctx = {"collector": c.endpoint, "null": null.url}
        emit(
            f"# prodtel bench, {time.strftime('%Y-%m-%d %H:%M')} UTC, {os.cpu_count()} cores, "
            f"Python {sys.version.split()[0]}\n"
        )
        for name in wanted:
            progress(f"section {name}")
            SECTIONS[name](ctx)
    if TARGETS:
        emit("## Targets (issue 18)")
        emit("| figure | this run | met |")
        emit("|---|---:|---|")
        for figure, (value, limit, op) in TARGETS.items():
            met = value <= limit if op == "<=" else value >= limit
            emit(f"| {figure} | {value:,.2f} | {'yes' if met else 'NO'} |")
        emit()
    name = os.environ.get("BENCH_RESULT", "latest")  # e.g. "exit" for `run.py exit duplicates`
    (RESULTS / f"{name}.md").write_text("\n".join(OUT) + "\n")
    chart(RESULTS / f"{name}.png")
    progress(f"results: {RESULTS / name}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
