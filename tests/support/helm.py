"""Render the prodtel-collector chart with real helm and validate what it renders.

helm and kubernetes-validate are installed by `make helm-tools` (run by `make pytest`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
HELM = Path(os.environ.get("PRODTEL_HELM", ROOT / "build/bin/helm"))
CHART = ROOT / "collector-config/helm/prodtel-collector"
EXAMPLES = ROOT / "collector-config/helm/examples"
PRODUCTION_VALUES = EXAMPLES / "values-production.yaml"
# The chart renders only with a catalog-generated pipeline (fail closed).
PIPELINE = ROOT / "collector-config/loadgen.yaml"
KUBERNETES_VALIDATE = Path(sys.executable).parent / "kubernetes-validate"
RELEASE = "prodtel"


def _require(tool: Path) -> Path:
    if not tool.exists():
        raise FileNotFoundError(f"{tool} missing: run `make helm-tools`")
    return tool


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(_require(HELM)), *args], capture_output=True, text=True, timeout=120)


def value_args(values: Sequence[Path] = (), sets: Sequence[str] = ()) -> list[str]:
    """`-f` files and `--set`/`--set-json`/`--set-string` flags (pass them with the flag)."""
    out: list[str] = []
    for v in values:
        out += ["-f", str(v)]
    for s in sets:
        flag, _, expr = s.partition(" ")
        out += [flag, expr]
    return out


def template(
    values: Sequence[Path] = (), sets: Sequence[str] = (), pipeline: Path | None = PIPELINE
) -> subprocess.CompletedProcess[str]:
    given = ["--set-file", f"pipeline={pipeline}"] if pipeline else []
    return helm(
        "template",
        RELEASE,
        str(CHART),
        "--namespace",
        "telemetry",
        *given,
        *value_args(values, sets),
    )


@dataclass
class Rendered:
    docs: list[dict[str, Any]]
    text: str

    def kinds(self) -> list[str]:
        return sorted(d["kind"] for d in self.docs)

    def one(self, kind: str, name_suffix: str = "") -> dict[str, Any]:
        found = [
            d
            for d in self.docs
            if d["kind"] == kind and d["metadata"]["name"].endswith(name_suffix)
        ]
        assert len(found) == 1, f"expected one {kind}*{name_suffix}, got {len(found)}"
        return found[0]

    def collector_config(self) -> dict[str, Any]:
        cm = self.one("ConfigMap", "prodtel-collector")
        cfg: dict[str, Any] = yaml.safe_load(cm["data"]["config.yaml"])
        return cfg

    def workload(self) -> dict[str, Any]:
        """The collector's StatefulSet (default) or Deployment (persistence off)."""
        (w,) = [d for d in self.docs if d["kind"] in {"StatefulSet", "Deployment"}]
        return w

    def collector_container(self) -> dict[str, Any]:
        c: dict[str, Any] = self.workload()["spec"]["template"]["spec"]["containers"][0]
        return c


def render(values: Sequence[Path] = (), sets: Sequence[str] = ()) -> Rendered:
    proc = template(values, sets)
    assert proc.returncode == 0, proc.stderr
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    return Rendered(docs=docs, text=proc.stdout)


def kube_versions() -> tuple[str, str]:
    """Oldest and newest Kubernetes versions kubernetes-validate bundles schemas for."""
    try:
        from kubernetes_validate import utils
    except ImportError as e:
        raise ImportError(f"{e}: run `make helm-tools`") from e

    versions = utils.all_versions()
    return versions[0], versions[-1]


def kube_validate(path: Path, version: str, expected: int) -> list[str]:
    """Run `kubernetes-validate --strict` and return every problem.

    The tool exits 0 on an unknown apiVersion/kind (it only prints WARN), so a WARN line is a
    problem here, and so is any resource that did not produce a "passed" line.
    """
    proc = subprocess.run(
        [str(_require(KUBERNETES_VALIDATE)), "--strict", "-k", version, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = (proc.stdout + proc.stderr).splitlines()
    problems = [line for line in lines if not line.startswith("INFO ")]
    passed = [line for line in lines if line.startswith("INFO ") and " passed " in line]
    if proc.returncode != 0 and not problems:
        problems.append(f"kubernetes-validate exited {proc.returncode}")
    if len(passed) != expected:
        problems.append(f"{len(passed)} of {expected} resources passed against {version}")
    return problems


def secret_env(container: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """env name -> (secret name, key) for every secretKeyRef in a container."""
    out = {}
    for e in container.get("env", []):
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            out[e["name"]] = (ref["name"], ref["key"])
    return out


def plain_env(container: dict[str, Any]) -> dict[str, str]:
    """env name -> literal value (entries that read a Secret are left out)."""
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
