"""Run the real OCB-built collector (otelcol-prodtel) on 127.0.0.1 for tests, and build the
configs the tests give it."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.loopback import free_port, stop_process, wait_http
from tests.support.tier import require_e2e

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("PRODTEL_COLLECTOR", ROOT / "build/otelcol-prodtel/otelcol-prodtel"))


def collector_config(
    exporters: dict[str, Any],
    *,
    processors: dict[str, Any] | None = None,
    http: dict[str, Any] | None = None,
    grpc: bool = False,
    signals: tuple[str, ...] = ("logs",),
) -> str:
    """A collector config for tests: OTLP/HTTP in (and gRPC with `grpc`), the given processors
    in order, every exporter on every signal's pipeline, health_check, no self-metrics.
    Endpoints come from the env `Collector.start` sets. JSON text, which is valid YAML."""
    protocols: dict[str, Any] = {"http": {"endpoint": "127.0.0.1:${env:HTTP_PORT}", **(http or {})}}
    if grpc:
        protocols["grpc"] = {"endpoint": "127.0.0.1:${env:GRPC_PORT}"}
    config: dict[str, Any] = {"receivers": {"otlp": {"protocols": protocols}}}
    pipeline: dict[str, Any] = {"receivers": ["otlp"]}
    if processors:
        config["processors"] = processors
        pipeline["processors"] = list(processors)
    config["exporters"] = exporters
    pipeline["exporters"] = list(exporters)
    config["extensions"] = {"health_check": {"endpoint": "127.0.0.1:${env:HEALTH_PORT}"}}
    config["service"] = {
        "extensions": ["health_check"],
        "telemetry": {"metrics": {"level": "none"}},
        "pipelines": {signal: pipeline for signal in signals},
    }
    return json.dumps(config, indent=2) + "\n"


def file_exporter(**options: Any) -> dict[str, Any]:
    """The file exporter writing OTLP/JSON lines to $OUT_FILE (`Collector.out_file`)."""
    return {"file": {"path": "${env:OUT_FILE}", "flush_interval": "100ms", **options}}


def file_config(**file_options: Any) -> str:
    """A minimal pipeline: OTLP in, memory_limiter + batch, logs and traces to one JSON-lines
    file; `file_options` go to the file exporter (e.g. rotation)."""
    return collector_config(
        file_exporter(**file_options),
        processors={
            "memory_limiter": {"check_interval": "1s", "limit_mib": 512, "spike_limit_mib": 128},
            "batch": {"timeout": "100ms"},
        },
        grpc=True,
        signals=("logs", "traces"),
    )


FILE_CONFIG = file_config()


@dataclass
class Collector:
    """A running collector. `endpoint` is its OTLP/HTTP base URL."""

    workdir: Path
    config: str = FILE_CONFIG
    env: dict[str, str] = field(default_factory=dict)
    http_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    health_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def out_file(self) -> Path:
        return self.workdir / "out.jsonl"

    @property
    def log_file(self) -> Path:
        return self.workdir / "collector.log"

    def start(self) -> Collector:
        require_e2e("the collector")
        if not BINARY.exists():
            raise FileNotFoundError(f"{BINARY} missing: run `make collector`")
        self.workdir.mkdir(parents=True, exist_ok=True)
        cfg = self.workdir / "config.yaml"
        cfg.write_text(self.config)
        env = {
            **os.environ,
            "HTTP_PORT": str(self.http_port),
            "GRPC_PORT": str(self.grpc_port),
            "HEALTH_PORT": str(self.health_port),
            "OUT_FILE": str(self.out_file),
            "OUT_DIR": str(self.workdir),
            **self.env,
        }
        log = self.log_file.open("ab")
        self.proc = subprocess.Popen(
            [str(BINARY), f"--config={cfg}"], stdout=log, stderr=log, env=env
        )
        try:
            wait_http(f"http://127.0.0.1:{self.health_port}/", timeout=30)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"collector did not start:\n{self.log_file.read_text()}") from None
        return self

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def __enter__(self) -> Collector:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def lines(self, path: Path | None = None) -> list[dict[str, Any]]:
        """Parsed OTLP/JSON lines the file exporter has written so far."""
        p = path or self.out_file
        if not p.exists():
            return []
        return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]

    def log_records(self, path: Path | None = None) -> Iterator[dict[str, Any]]:
        """Flatten file-exporter output to dicts: resource, scope, record (attributes as dicts)."""
        for line in self.lines(path):
            for rl in line.get("resourceLogs", []):
                res = attrs(rl.get("resource", {}).get("attributes", []))
                for sl in rl.get("scopeLogs", []):
                    for rec in sl.get("logRecords", []):
                        yield {
                            "resource": res,
                            "scope": sl.get("scope", {}).get("name"),
                            "event_name": rec.get("eventName"),
                            "attributes": attrs(rec.get("attributes", [])),
                            "record": rec,
                        }

    def wait_records(self, n: int, timeout: float = 15.0, path: Path | None = None) -> list[Any]:
        deadline = time.monotonic() + timeout
        recs: list[Any] = []
        while time.monotonic() < deadline:
            recs = list(self.log_records(path))
            if len(recs) >= n:
                return recs
            time.sleep(0.1)
        raise TimeoutError(f"expected {n} records, got {len(recs)}")


def pipeline(workdir: Path, config: str, data_dir: Path, **env: str) -> Collector:
    """A collector running a generated prodtel pipeline (collector-config/*.yaml) on loopback
    ports, writing its files under `data_dir` and its queues under `workdir` (not the default
    ./data/queue, which is relative to the test's working directory); not started."""
    c = Collector(workdir, config=config)
    c.env.update(
        {
            "PRODTEL_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{c.http_port}",
            "PRODTEL_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{c.grpc_port}",
            "PRODTEL_HEALTH_ENDPOINT": f"127.0.0.1:{c.health_port}",
            "PRODTEL_METRICS_PORT": str(free_port()),
            "PRODTEL_DATA_DIR": str(data_dir),
            "PRODTEL_QUEUE_DIR": str(workdir / "queue"),
            **env,
        }
    )
    return c


def any_value(v: dict[str, Any]) -> Any:
    """Decode an OTLP/JSON AnyValue."""
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:
        return int(v["intValue"])
    if "doubleValue" in v:
        return float(v["doubleValue"])
    if "boolValue" in v:
        return bool(v["boolValue"])
    if "arrayValue" in v:
        return [any_value(x) for x in v["arrayValue"].get("values", [])]
    if "kvlistValue" in v:
        return attrs(v["kvlistValue"].get("values", []))
    return None


def attrs(kvs: list[dict[str, Any]]) -> dict[str, Any]:
    return {kv["key"]: any_value(kv.get("value", {})) for kv in kvs}
