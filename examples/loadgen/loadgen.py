"""loadgen: a small k6-like load tool, and prodtel's example app.

    python examples/loadgen/loadgen.py run --vus 5 --iterations 20 --duration 1s

It starts a local HTTP server and hits it from `--vus` threads. One usage report per run, like
k6's. Opt out with --no-usage-report, LOADGEN_NO_USAGE_REPORT=1, LOADGEN_TELEMETRY=off or
DO_NOT_TRACK=1.
"""

from __future__ import annotations

import argparse
import http.server
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from telemetry_catalog import CATALOG, VERSION

import prodtel
import prodtel.cli

ENDPOINT = "http://127.0.0.1:4318"  # where this example's collector listens (make demo)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def parse_duration(text: str) -> float:
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    for suffix in ("ms", "s", "m", "h"):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * units[suffix]
    return float(text)


def explode(depth: int) -> None:
    """A crash deep in a call stack, for `run --fail`."""
    if depth == 0:
        raise RuntimeError("loadgen: target refused the test plan (deliberate --fail)")
    explode(depth - 1)


@prodtel.command("run")
def run(args: argparse.Namespace) -> int:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    duration = parse_duration(args.duration)
    deadline = time.monotonic() + duration
    lock = threading.Lock()
    done = {"iterations": 0, "failed": 0}

    def vu() -> None:
        while time.monotonic() < deadline:
            with lock:
                if done["iterations"] >= args.iterations:
                    return
                done["iterations"] += 1
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    r.read()
            except OSError:
                with lock:
                    done["failed"] += 1

    started = time.monotonic()
    with prodtel.summary("usage_report") as report:
        report.set(
            vus_max=args.vus,
            iterations=args.iterations,
            duration=duration,
            st_duration=duration,
            executor="shared-iterations",
        )
        threads = [threading.Thread(target=vu) for _ in range(args.vus)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if args.fail:
            explode(5)
    server.shutdown()
    took = time.monotonic() - started
    print(
        f"loadgen: {done['iterations']} iterations, {done['failed']} failed, "
        f"{args.vus} VUs, {took:.2f}s"
    )
    return 1 if done["failed"] else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loadgen", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--no-usage-report", action="store_true", help="do not send the anonymous usage report"
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_run = sub.add_parser("run", help="run a load test against a local server")
    p_run.add_argument("--vus", type=int, default=1)
    p_run.add_argument("--iterations", type=int, default=10)
    p_run.add_argument("--duration", default="10s")
    p_run.add_argument(
        "--no-usage-report",
        action="store_true",
        default=argparse.SUPPRESS,
        help="do not send the anonymous usage report",
    )
    p_run.add_argument(
        "--fail", action="store_true", help="crash on purpose (error reporting demo)"
    )
    prodtel.cli.add_argparse(sub)
    args = parser.parse_args(argv)

    prodtel.init(
        CATALOG,
        version=VERSION,
        endpoint=ENDPOINT,
        cli_opt_out=args.no_usage_report,
    )
    prodtel.set_context(is_ci=prodtel.current().decision.ci)  # type: ignore[union-attr]
    if args.cmd == "telemetry":
        return prodtel.cli.run_argparse(args)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
