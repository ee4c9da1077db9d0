"""Bench sections on start-up and per-event cost: prodtel, raw OTel and the peers."""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
from pathlib import Path

from harness import CHART, MACHINE, PY, SCEN, TARGETS, base_env, emit, progress, seen, wall_ms


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
    MACHINE["`python -c pass`, ms"] = (results["`python -c pass`, for reference"], 9.6)
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
    MACHINE["bare Python call with the event's kwargs, ns"] = (bare, 320.0)
    TARGETS["track() caller-thread cost, ns (<= 1500)"] = (
        caller["prodtel track(), delivered to the collector"],
        1500.0,
        "<=",
    )
