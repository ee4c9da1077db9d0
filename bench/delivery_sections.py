"""Bench sections on delivery: exit latency over real and broken networks, duplicates and losses,
events recorded while the backend was down, a burst."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from backends import NullServer
from harness import CHART, PY, SCEN, base_env, emit, progress, seen


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

    from tests.support.collector import Collector
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


def _exit_runs(sdk: str, env: dict[str, str], runs: int, phase: str) -> None:
    for i in range(runs):
        progress(f"offline: {sdk}, {phase} ({i + 1}/{runs})")
        subprocess.run(
            [PY, str(SCEN / "exit_latency.py"), sdk],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # the peers' own complaints about the refused port
            check=True,
            timeout=600,
        )


def section_offline(ctx: dict[str, str], runs: int) -> None:
    """Events recorded while the backend is down: `runs` processes with nothing listening, then
    `runs` with the backend up on the same port; what arrived, counted by event id."""
    import collections

    from tests.support.collector import Collector
    from tests.support.delay_proxy import DelayProxy
    from tests.support.loopback import free_port

    emit(
        f"## Recorded while the backend was down: {runs} runs refused, then {runs} runs up, "
        "10 events each"
    )
    emit(
        "Each SDK's own backend (prodtel and raw OTel: the real collector; the peers: a loopback "
        "server answering 200) starts listening on the same port after the refused runs. "
        "Counted by event id 20 s after the last run: log.record.uid, posthog uuid, segment "
        "messageId, Sentry event_id; raw OTel records carry no id (duplicates not countable).\n"
    )
    emit("| SDK | recorded | delivered | duplicates | lost |")
    emit("|---|---:|---:|---:|---:|")
    expected = 2 * runs * 10
    for sdk in ("prodtel", "otel", "posthog", "segment", "sentry"):
        work = Path(tempfile.mkdtemp())
        seen(work)
        port = free_port()
        env = base_env(work, BENCH_ENDPOINT=f"http://127.0.0.1:{port}")

        _exit_runs(sdk, env, runs, "refused")
        if sdk in ("prodtel", "otel"):
            with (
                Collector(work / "collector") as c,
                DelayProxy(("127.0.0.1", c.http_port), 0, port),
            ):
                _exit_runs(sdk, env, runs, "up")
                time.sleep(20)  # prodtel's detached uploaders end within it
                ids = [
                    r["attributes"].get("log.record.uid")
                    for r in c.log_records()
                    if r["event_name"] == "script_exported"
                ]
        else:
            server = NullServer(port)
            _exit_runs(sdk, env, runs, "up")
            time.sleep(2)
            server.close()
            ids = server.ids
        if sdk == "otel":
            dups, delivered = "n/a", len(ids)
        else:
            counts = collections.Counter(ids)
            dups, delivered = str(sum(n - 1 for n in counts.values())), len(counts)
        emit(f"| {sdk} | {expected} | {delivered} | {dups} | {max(0, expected - delivered)} |")
        CHART.setdefault("delivered of events recorded, half while the backend was down", {})[
            sdk
        ] = delivered
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
