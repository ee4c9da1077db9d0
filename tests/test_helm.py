"""The prodtel-collector Helm chart, checked with real helm, kubernetes-validate and the real
otelcol-prodtel binary (all installed by `make pytest`)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.collector import BINARY, Collector
from tests.support.helm import (
    CHART,
    EXAMPLES,
    PRODUCTION_VALUES,
    ROOT,
    Rendered,
    helm,
    kube_validate,
    kube_versions,
    plain_env,
    render,
    secret_env,
    template,
)
from tests.support.helm_chi import chi_errors
from tests.support.loopback import free_port

OLDEST, NEWEST = kube_versions()
VARIANTS: dict[str, tuple[list[Path], list[str]]] = {
    "default": ([], []),
    "production": ([PRODUCTION_VALUES], []),
    "autoscaling+metrics": (
        [PRODUCTION_VALUES],
        ["--set autoscaling.enabled=true", "--set metrics.enabled=true"],
    ),
}


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def variant(request: pytest.FixtureRequest) -> tuple[str, Rendered]:
    values, sets = VARIANTS[request.param]
    return request.param, render(values, sets)


@pytest.fixture(scope="module")
def default() -> Rendered:
    return render()


@pytest.fixture(scope="module")
def production() -> Rendered:
    return render([PRODUCTION_VALUES])


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def workloads(r: Rendered) -> list[dict[str, Any]]:
    return [d for d in r.docs if d["kind"] in {"Deployment", "Job"}]


# --- helm lint / template -------------------------------------------------------------------


@pytest.mark.parametrize("values", [[], [PRODUCTION_VALUES]], ids=["default", "production"])
def test_helm_lint_strict(values: list[Path]) -> None:
    args = [a for v in values for a in ("-f", str(v))]
    proc = helm("lint", "--strict", str(CHART), "--set-file", f"pipeline={GENERATED}", *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in proc.stdout


def test_helm_is_the_pinned_release() -> None:
    proc = helm("version", "--short")
    makefile = (ROOT / "mk/helm.mk").read_text()
    pinned = re.search(r"^HELM_VERSION := (\S+)", makefile, re.M)
    assert pinned and proc.stdout.strip() == pinned.group(1)


def test_default_renders_a_statefulset_gateway(default: Rendered) -> None:
    assert default.kinds() == [
        "ConfigMap",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
        "Service",
        "ServiceAccount",
        "StatefulSet",
    ]
    sts = default.one("StatefulSet")
    assert sts["spec"]["replicas"] == 1
    assert sts["spec"]["serviceName"] == default.one("Service", "-headless")["metadata"]["name"]
    assert default.one("Service", "-headless")["spec"]["clusterIP"] == "None"


def test_production_renders_ingress_and_schema_job(production: Rendered) -> None:
    assert production.kinds() == [
        "ConfigMap",
        "ConfigMap",
        "Ingress",
        "Job",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
        "Service",
        "ServiceAccount",
        "StatefulSet",
    ]
    assert production.workload()["spec"]["replicas"] == 3
    assert production.one("PodDisruptionBudget")["spec"] == {
        "minAvailable": 2,
        "selector": production.workload()["spec"]["selector"],
    }


def test_autoscaling_renders_hpa_v2_and_leaves_replicas_to_it() -> None:
    r = render([PRODUCTION_VALUES], ["--set autoscaling.enabled=true"])
    hpa = r.one("HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == r.workload()["metadata"]["name"]
    assert hpa["spec"]["scaleTargetRef"]["kind"] == r.workload()["kind"] == "StatefulSet"
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    assert "replicas" not in r.workload()["spec"]


# --- kubernetes-validate ----------------------------------------------------------------------


@pytest.mark.parametrize("version", [OLDEST, NEWEST])
def test_every_rendered_object_validates_strictly(
    variant: tuple[str, Rendered], version: str, tmp_path: Path
) -> None:
    name, r = variant
    path = tmp_path / f"{name}.yaml"
    path.write_text(r.text)
    assert kube_validate(path, version, expected=len(r.docs)) == []


def test_unknown_kind_is_a_failure_not_a_warning(tmp_path: Path) -> None:
    # kubernetes-validate itself exits 0 here; our wrapper must not.
    path = tmp_path / "crd.yaml"
    path.write_text((EXAMPLES / "clickhouse-installation.yaml").read_text())
    problems = kube_validate(path, NEWEST, expected=1)
    assert any(p.startswith("WARN") and "ClickHouseInstallation" in p for p in problems)
    assert "0 of 1 resources passed against " + NEWEST in problems


def test_invalid_object_fails_validation(default: Rendered, tmp_path: Path) -> None:
    dep = default.workload()
    dep["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["bogus"] = 1
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(dep))
    assert any("bogus" in p for p in kube_validate(path, NEWEST, expected=1))


# --- policy -------------------------------------------------------------------------------------


def test_every_container_is_locked_down(variant: tuple[str, Rendered]) -> None:
    _, r = variant
    for w in workloads(r):
        pod = w["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for c in containers(w):
            where = f"{w['kind']}/{c['name']}"
            sc = c["securityContext"]
            assert sc["runAsNonRoot"] is True, where
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"] == {"drop": ["ALL"]}, where
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, where
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][part]), where
            # A read-only root needs the writable paths mounted.
            mounts = {m["mountPath"] for m in c["volumeMounts"]}
            assert "/tmp" in mounts, where
            # Long-running containers need probes; the DDL Job's container runs to completion.
            if w["kind"] == "Deployment":
                assert c["livenessProbe"]["httpGet"] and c["readinessProbe"]["httpGet"], where


def test_collector_probes_hit_the_health_check_extension(variant: tuple[str, Rendered]) -> None:
    _, r = variant
    c = r.collector_container()
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    ports.pop("metrics", None)  # only with metrics.enabled (tested below)
    assert ports == {"otlp": 4317, "otlp-http": 4318, "health": 13133}
    for probe in ("livenessProbe", "readinessProbe"):
        assert c[probe]["httpGet"] == {"path": "/", "port": "health"}
    cfg = r.collector_config()
    assert cfg["extensions"]["health_check"]["endpoint"].startswith("${env:PRODTEL_HEALTH_ENDPOINT")
    assert "health_check" in cfg["service"]["extensions"]
    env = plain_env(c)
    assert env["PRODTEL_HEALTH_ENDPOINT"] == "0.0.0.0:13133"
    assert env["PRODTEL_OTLP_GRPC_ENDPOINT"] == "0.0.0.0:4317"
    assert env["PRODTEL_OTLP_HTTP_ENDPOINT"] == "0.0.0.0:4318"


def test_the_queue_lives_on_a_volume_per_replica(default: Rendered) -> None:
    sts = default.one("StatefulSet")
    pod = sts["spec"]["template"]["spec"]
    vols = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert mounts["/var/lib/prodtel"] == claim["metadata"]["name"] not in vols
    assert claim["spec"]["resources"]["requests"]["storage"] == "4Gi"
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"]["whenScaled"] == "Retain"
    env = plain_env(default.collector_container())
    assert env["PRODTEL_QUEUE_DIR"] == "/var/lib/prodtel/queue"
    assert env["PRODTEL_QUEUE_SIZE"] == "1000"
    cfg = default.collector_config()
    assert cfg["extensions"]["file_storage/queue"]["fsync"] is True
    assert cfg["extensions"]["file_storage/queue"]["directory"].startswith(
        "${env:PRODTEL_QUEUE_DIR:-"
    )
    for name in ("clickhouse", "sentry_events"):
        assert cfg["exporters"][name]["sending_queue"]["storage"] == "file_storage/queue"
    # SIGTERM: the grace period outlasts one export (timeout 10 s).
    assert pod["terminationGracePeriodSeconds"] == 60


def test_emptydir_is_the_documented_opt_out() -> None:
    r = render(sets=["--set persistence.enabled=false"])
    dep = r.one("Deployment")
    assert "volumeClaimTemplates" not in dep["spec"]
    assert not [d for d in r.docs if d["metadata"]["name"].endswith("-headless")]
    pod = dep["spec"]["template"]["spec"]
    vols = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
    assert vols[mounts["/var/lib/prodtel"]]["emptyDir"] == {"sizeLimit": "2Gi"}
    assert vols[mounts["/tmp"]]["emptyDir"] == {"sizeLimit": "64Mi"}
    docs = (ROOT / "docs/kubernetes.md").read_text()
    assert "persistence.enabled=false" in docs


def test_collector_writes_where_the_pod_can(default: Rendered) -> None:
    pod = default.workload()["spec"]["template"]["spec"]
    vols = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
    assert vols[mounts["/tmp"]]["emptyDir"] == {"sizeLimit": "64Mi"}
    configmap = default.one("ConfigMap")["metadata"]["name"]
    assert vols[mounts["/conf"]]["configMap"]["name"] == configmap
    assert plain_env(default.collector_container())["PRODTEL_DATA_DIR"] == "/var/lib/prodtel"
    exporters = default.collector_config()["exporters"]
    for name in ("file/analytics", "file/errors"):
        assert exporters[name]["path"].startswith("${env:PRODTEL_DATA_DIR:-./data}/")


def test_command_and_image_follow_the_dockerfile(default: Rendered) -> None:
    c = default.collector_container()
    assert c["command"] == ["/otelcol-prodtel"]
    assert c["args"] == ["--config=/conf/config.yaml"]
    assert c["image"] == "otelcol-prodtel:0.1.0"  # appVersion by default
    dockerfile = (ROOT / "collector-config/Dockerfile").read_text()
    final = dockerfile.split("\nFROM ")[-1]
    assert final.startswith("gcr.io/distroless/static-debian12:nonroot")
    assert "COPY --from=build /src/build/otelcol-prodtel/otelcol-prodtel /otelcol-prodtel" in final
    assert "USER 65532:65532" in final
    assert "EXPOSE 4317 4318 13133" in final
    assert 'ENTRYPOINT ["/otelcol-prodtel", "--config=/conf/config.yaml"]' in final
    makefile = (ROOT / "Makefile").read_text()
    ocb = re.search(r"^OCB_VERSION := (\S+)", makefile, re.M)
    assert ocb and f"ARG OCB_VERSION={ocb.group(1)}" in dockerfile
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    builder = yaml.safe_load((ROOT / "collector-config/builder-config.yaml").read_text())
    assert chart["appVersion"] == builder["dist"]["version"]


# --- memory: GOMEMLIMIT and memory_limiter ----------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "gomemlimit", "limiter", "spike"),
    [
        ("512Mi", "409MiB", "409", "128"),
        ("2Gi", "1638MiB", "1638", "512"),
        ("1G", "762MiB", "762", "238"),
        ("1500M", "1144MiB", "1144", "357"),
        ("1073741824", "819MiB", "819", "256"),
        ("1.5Gi", "1228MiB", "1228", "384"),
    ],
)
def test_memory_settings_derive_from_the_limit(
    limit: str, gomemlimit: str, limiter: str, spike: str
) -> None:
    r = render(sets=[f"--set-string resources.limits.memory={limit}"])
    env = {e["name"]: e.get("value") for e in r.collector_container()["env"]}
    assert env["GOMEMLIMIT"] == gomemlimit
    assert env["PRODTEL_MEMORY_LIMIT_MIB"] == limiter
    assert env["PRODTEL_MEMORY_SPIKE_MIB"] == spike
    limiter_cfg = r.collector_config()["processors"]["memory_limiter"]
    assert limiter_cfg["check_interval"] == "1s"
    assert "PRODTEL_MEMORY_LIMIT_MIB" in limiter_cfg["limit_mib"]


def test_gomemlimit_can_be_turned_off() -> None:
    r = render(sets=["--set useGOMEMLIMIT=false"])
    names = [e["name"] for e in r.collector_container()["env"]]
    assert "GOMEMLIMIT" not in names
    assert "PRODTEL_MEMORY_LIMIT_MIB" in names


# --- the collector config -----------------------------------------------------------------------


GENERATED = ROOT / "collector-config/loadgen.yaml"  # generated by `prodtel collector-config`
ENV_REF = re.compile(r"\$\{env:([A-Z0-9_]+)(?::-([^}]*))?\}")


def test_default_pipeline_routes_exceptions_to_errors_and_the_rest_to_files(
    default: Rendered,
) -> None:
    cfg = default.collector_config()
    p = cfg["service"]["pipelines"]
    # No batch processor: it would answer 200 before the records are stored.
    assert p["logs"] == {
        "receivers": ["otlp"],
        "processors": ["memory_limiter", "filter/catalog", "transform/catalog", "redaction"],
        "exporters": ["routing"],
    }
    routing = cfg["connectors"]["routing"]
    assert routing["default_pipelines"] == ["logs/analytics"]
    (route,) = routing["table"]
    assert route["pipelines"] == ["logs/errors"]
    assert 'log.attributes["exception.type"] != nil' in route["condition"]
    assert p["logs/analytics"]["exporters"].startswith("${env:PRODTEL_ANALYTICS_EXPORTERS:-")
    assert p["logs/errors"]["exporters"].startswith("${env:PRODTEL_ERRORS_EXPORTERS:-")
    env = plain_env(default.collector_container())
    assert env["PRODTEL_ANALYTICS_EXPORTERS"] == "[file/analytics]"
    assert env["PRODTEL_ERRORS_EXPORTERS"] == "[file/errors]"
    assert p["traces"]["exporters"].startswith("${env:PRODTEL_TRACES_EXPORTERS:-")
    assert env["PRODTEL_TRACES_EXPORTERS"] == "[file/traces]"
    assert not any(k.startswith(("CLICKHOUSE_", "SENTRY_")) for k in env)


def test_without_a_pipeline_the_chart_refuses_to_render() -> None:
    for values in ([], [PRODUCTION_VALUES]):
        proc = template(values, pipeline=None)
        assert proc.returncode != 0
        assert "pipeline is empty" in proc.stderr
        assert "prodtel collector-config --catalog" in proc.stderr
        assert "--set-file pipeline=" in proc.stderr


def test_a_catalog_free_pipeline_is_refused(tmp_path: Path) -> None:
    cfg = yaml.safe_load(GENERATED.read_text())
    cfg["service"]["pipelines"]["logs"]["processors"] = ["memory_limiter"]
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = template(pipeline=path)
    assert proc.returncode != 0
    assert "must run the filter/catalog processor" in proc.stderr


def test_a_custom_clickhouse_table_is_refused() -> None:
    """A table name the schema Job, the reports and the deletion job would not know: refused
    (the chart once passed it to the exporter alone)."""
    proc = template([PRODUCTION_VALUES], sets=["--set clickhouse.table=my_logs"])
    assert proc.returncode != 0 and "table" in proc.stderr, proc.stderr


@pytest.mark.parametrize("tag", ["latest", ""])
def test_image_tag_must_be_pinned(tag: str) -> None:
    proc = template(sets=[f"--set image.tag={tag}"])
    assert proc.returncode != 0 and "at '/image/tag'" in proc.stderr, proc.stderr


def test_production_install_command_passes_the_pipeline() -> None:
    header = PRODUCTION_VALUES.read_text().split("\n\n")[0]
    assert "--set-file pipeline=" in header


def test_the_chart_sets_only_env_vars_the_configs_read(variant: tuple[str, Rendered]) -> None:
    from prodtel.collector_config import ENV

    _, r = variant
    names = {e["name"] for e in r.collector_container()["env"]}
    assert names - set(ENV) == {"GOMEMLIMIT"}


def test_production_selects_clickhouse_and_sentry_with_secrets(production: Rendered) -> None:
    c = production.collector_container()
    env = plain_env(c)
    assert env["PRODTEL_ANALYTICS_EXPORTERS"] == "[clickhouse]"
    assert env["PRODTEL_ERRORS_EXPORTERS"] == "[sentry_events]"
    assert env["PRODTEL_TRACES_EXPORTERS"] == "[clickhouse]"
    assert env["CLICKHOUSE_DATABASE"] == "prodtel"
    # The table names are fixed: what the schema Job creates and the reports read.
    exporter = production.collector_config()["exporters"]["clickhouse"]
    assert (exporter["logs_table_name"], exporter["traces_table_name"]) == TABLES
    assert secret_env(c) == {
        "CLICKHOUSE_ENDPOINT": ("prodtel-clickhouse", "endpoint"),
        "CLICKHOUSE_USERNAME": ("prodtel-clickhouse", "username"),
        "CLICKHOUSE_PASSWORD": ("prodtel-clickhouse", "password"),
        "SENTRY_DSN": ("prodtel-sentry-dsn", "dsn"),
    }
    ch = production.collector_config()["exporters"]["clickhouse"]
    assert ch["create_schema"] is False
    assert ch["sending_queue"]["batch"]["min_size"] >= 5000
    assert "kind: Secret" not in production.text


def deployment_env(r: Rendered) -> dict[str, str]:
    """The Deployment's env, with placeholder values where Kubernetes would read a Secret."""
    placeholders = {
        "CLICKHOUSE_ENDPOINT": "tcp://clickhouse-prodtel.telemetry.svc:9000",
        "CLICKHOUSE_USERNAME": "prodtel",
        "CLICKHOUSE_PASSWORD": "placeholder",
        "SENTRY_DSN": "https://0123456789abcdef@errors.example.com/1",
    }
    return {
        e["name"]: e["value"] if "value" in e else placeholders[e["name"]]
        for e in r.collector_container()["env"]
    }


def collector_validate(config_text: str, env: dict[str, str], tmp: Path) -> str:
    """Run `otelcol-prodtel validate`; returns "" when valid, else its error output."""
    path = tmp / "config.yaml"
    path.write_text(config_text)
    # Only the Deployment's env: a stray PRODTEL_* in the caller's env must not mask a gap.
    base = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "TMPDIR"}}
    proc = subprocess.run(
        [str(BINARY), "validate", f"--config={path}"],
        capture_output=True,
        text=True,
        env={**base, **env},
        timeout=60,
    )
    return "" if proc.returncode == 0 else (proc.stdout + proc.stderr or f"rc={proc.returncode}")


def test_rendered_config_passes_collector_validate(
    variant: tuple[str, Rendered], tmp_path: Path
) -> None:
    _, r = variant
    text = r.one("ConfigMap", "prodtel-collector")["data"]["config.yaml"]
    assert collector_validate(text, deployment_env(r), tmp_path) == ""


@pytest.mark.parametrize("values", [[], [PRODUCTION_VALUES]], ids=["default", "production"])
def test_a_generated_catalog_config_ships_unchanged(values: list[Path], tmp_path: Path) -> None:
    r = render(values, [f"--set-file pipeline={GENERATED}"])
    text = r.one("ConfigMap", "prodtel-collector")["data"]["config.yaml"]
    assert text == GENERATED.read_text()
    assert collector_validate(text, deployment_env(r), tmp_path) == ""


def test_collector_validate_catches_a_broken_route(default: Rendered, tmp_path: Path) -> None:
    cfg = default.collector_config()
    cfg["connectors"]["routing"]["table"][0]["condition"] = 'log.attributes["exception.type"] !=='
    error = collector_validate(yaml.safe_dump(cfg), deployment_env(default), tmp_path)
    assert "invalid syntax" in error


def _otlp_record(event: str, attributes: dict[str, str]) -> dict[str, Any]:
    return {
        "timeUnixNano": str(time.time_ns()),
        "eventName": event,
        "severityNumber": 17 if "exception.type" in attributes else 9,
        "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()],
    }


@pytest.mark.e2e
def test_shipped_pipeline_routes_exceptions_apart_on_the_real_collector(
    default: Rendered, tmp_path: Path
) -> None:
    text = default.one("ConfigMap", "prodtel-collector")["data"]["config.yaml"]
    col = Collector(tmp_path, config=text)
    # The Deployment's env, moved to loopback test ports and a temp data dir.
    col.env.update(deployment_env(default))
    col.env.update(
        PRODTEL_OTLP_GRPC_ENDPOINT=f"127.0.0.1:{col.grpc_port}",
        PRODTEL_OTLP_HTTP_ENDPOINT=f"127.0.0.1:{col.http_port}",
        PRODTEL_HEALTH_ENDPOINT=f"127.0.0.1:{col.health_port}",
        PRODTEL_METRICS_PORT=str(free_port()),
        PRODTEL_DATA_DIR=str(tmp_path),
    )
    records = [
        _otlp_record("command", {"command": "run"}),
        _otlp_record("exception", {"exception.type": "ValueError", "exception.message": "x"}),
        _otlp_record("usage_report", {"vus_max": "10"}),
    ]
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "loadgen"}}]}
    body = {
        "resourceLogs": [
            {
                "resource": resource,
                "scopeLogs": [{"scope": {"name": "prodtel"}, "logRecords": records}],
            }
        ]
    }
    with col:
        req = urllib.request.Request(
            f"{col.endpoint}/v1/logs",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200
        errors = col.wait_records(1, path=tmp_path / "errors.jsonl")
        analytics = col.wait_records(2, path=tmp_path / "analytics.jsonl")
    assert [r["event_name"] for r in errors] == ["exception"]
    assert errors[0]["attributes"]["exception.type"] == "ValueError"
    assert [r["event_name"] for r in analytics] == ["command", "usage_report"]
    assert {r["resource"]["service.name"] for r in errors + analytics} == {"loadgen"}


def test_config_value_merges_over_the_shipped_pipeline(default: Rendered, tmp_path: Path) -> None:
    merge = {"exporters": {"clickhouse": {"sending_queue": {"num_consumers": 8}}}}
    r = render(sets=[f"--set-json config={json.dumps(merge)}"])
    ch = r.collector_config()["exporters"]["clickhouse"]
    assert ch["sending_queue"]["num_consumers"] == 8
    assert ch["sending_queue"]["batch"]["min_size"] == 8192  # merged, not replaced
    text = r.one("ConfigMap", "prodtel-collector")["data"]["config.yaml"]
    assert collector_validate(text, deployment_env(r), tmp_path) == ""
    checksum = "checksum/config"
    before = default.workload()["spec"]["template"]["metadata"]["annotations"][checksum]
    after = r.workload()["spec"]["template"]["metadata"]["annotations"][checksum]
    assert re.fullmatch(r"[0-9a-f]{64}", after) and before != after


def test_shipped_pipeline_is_the_given_file_as_written(default: Rendered) -> None:
    text = default.one("ConfigMap", "prodtel-collector")["data"]["config.yaml"]
    assert text == GENERATED.read_text()


def _leaves(node: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    if isinstance(node, dict):
        return [leaf for k, v in node.items() for leaf in _leaves(v, (*path, str(k)))]
    if isinstance(node, list):
        return [leaf for i, v in enumerate(node) for leaf in _leaves(v, (*path, str(i)))]
    return [(path, node)]


def test_values_never_carry_secret_material() -> None:
    for path in [CHART / "values.yaml", PRODUCTION_VALUES]:
        for keys, value in _leaves(yaml.safe_load(path.read_text())):
            where = f"{path.name}: {'.'.join(keys)}"
            if keys[-1] in {"password", "dsn", "token", "endpoint"}:
                # Only ever the name of a key inside an existing Secret.
                assert keys[-2] == "secretKeys", where
            assert "://" not in str(value), where


def test_ingress_exposes_only_otlp_http_with_limits(production: Rendered) -> None:
    ing = production.one("Ingress")
    ann = ing["metadata"]["annotations"]
    assert ann["nginx.ingress.kubernetes.io/proxy-body-size"] == "4m"
    assert ann["nginx.ingress.kubernetes.io/limit-rps"] == "20"
    assert ann["nginx.ingress.kubernetes.io/limit-burst-multiplier"] == "5"
    assert ann["nginx.ingress.kubernetes.io/limit-connections"] == "20"
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert ing["spec"]["tls"] == [
        {"hosts": ["telemetry.example.com"], "secretName": "telemetry-example-com-tls"}
    ]
    (rule,) = ing["spec"]["rules"]
    assert rule["host"] == "telemetry.example.com"
    # Events and errors, and spans (each held to the catalog by its pipeline); nothing else.
    assert rule["http"]["paths"] == [
        {
            "path": path,
            "pathType": "Exact",
            "backend": {
                "service": {
                    "name": production.one("Service", "collector")["metadata"]["name"],
                    "port": {"name": "otlp-http"},
                }
            },
        }
        for path in ("/v1/logs", "/v1/traces")
    ]
    svc_ports = {
        p["name"]: p["port"] for p in production.one("Service", "collector")["spec"]["ports"]
    }
    assert svc_ports == {"otlp": 4317, "otlp-http": 4318}


def test_metrics_are_served_to_the_cluster_only_when_enabled(default: Rendered) -> None:
    assert plain_env(default.collector_container())["PRODTEL_METRICS_HOST"] == "127.0.0.1"
    r = render(sets=["--set metrics.enabled=true"])
    c = r.collector_container()
    assert plain_env(c)["PRODTEL_METRICS_HOST"] == "0.0.0.0"
    assert {"name": "metrics", "containerPort": 8888, "protocol": "TCP"} in c["ports"]
    rules = r.one("NetworkPolicy")["spec"]["ingress"]
    assert [[p["port"] for p in rule["ports"]] for rule in rules] == [[4317, 4318], [8888]]


def _egress_ports(np: dict[str, Any]) -> list[list[int]]:
    return [sorted(p["port"] for p in rule["ports"]) for rule in np["spec"]["egress"]]


def test_network_policy_default_allows_dns_only(default: Rendered) -> None:
    np = default.one("NetworkPolicy")
    assert np["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert (
        np["spec"]["podSelector"]["matchLabels"]
        == default.workload()["spec"]["selector"]["matchLabels"]
    )
    assert [sorted(p["port"] for p in r["ports"]) for r in np["spec"]["ingress"]] == [[4317, 4318]]
    assert _egress_ports(np) == [[53, 53]]


def test_network_policy_production_allows_clickhouse_and_error_backend(
    production: Rendered,
) -> None:
    np = production.one("NetworkPolicy")
    assert _egress_ports(np) == [[53, 53], [9000], [443]]
    assert np["spec"]["egress"][1]["to"] == [
        {"podSelector": {"matchLabels": {"clickhouse.altinity.com/chi": "prodtel"}}}
    ]
    assert "ipBlock" in np["spec"]["egress"][2]["to"][0]
    assert len(np["spec"]["ingress"][0]["from"]) == 2


# --- broken values fail clearly ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["--set-string replicaCount=3"], "at '/replicaCount': got string, want integer"),
        (["--set mode=daemonset"], "at '/mode': value must be 'deployment'"),
        (["--set clickhouse.enabled=true"], "at '/clickhouse': missing property 'existingSecret'"),
        (
            ["--set resources.limits.memory=null"],
            "at '/resources/limits': missing property 'memory'",
        ),
        (["--set resources.limits.memory=lots"], "at '/resources/limits/memory'"),
        (["--set clickhouse.password=hunter2"], "additional properties 'password' not allowed"),
        (["--set ingress.enabled=true"], "at '/ingress/host': minLength: got 0, want 1"),
        (["--set image.repository="], "at '/image/repository': minLength: got 0, want 1"),
        (
            ["--set errors.sentry.existingSecret=dsn"],
            "networkPolicy.egress.errorBackend.to: list the peers",
        ),
        (
            ['--set-json config={"service":{"extensions":[]}}'],
            "service.extensions must include health_check",
        ),
        (
            ['--set-json config={"extensions":{"health_check":{"endpoint":"0.0.0.0:8080"}}}'],
            "the health_check extension must listen on :13133",
        ),
    ],
)
def test_broken_values_fail_with_a_clear_message(sets: list[str], message: str) -> None:
    proc = template(sets=sets)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda c: c["service"]["pipelines"].pop("logs/errors"),
            'pipeline "logs/errors" is missing',
        ),
        (lambda c: c["extensions"].clear(), "the health_check extension must listen on :13133"),
    ],
    ids=["no errors pipeline", "no health_check"],
)
def test_a_pipeline_breaking_the_contract_fails(edit: Any, message: str, tmp_path: Path) -> None:
    cfg = yaml.safe_load(GENERATED.read_text())
    edit(cfg)
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = template(sets=[f"--set-file pipeline={path}"])
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr


# --- ClickHouse: DDL, schema job, ClickHouseInstallation ----------------------------------------

DDL_DIR = ROOT / "collector-config/clickhouse"
DDL = DDL_DIR / "otel_logs.sql"
TRACES_DDL = DDL_DIR / "otel_traces.sql"
TABLES = ("otel_logs", "otel_traces")


@pytest.mark.parametrize("table", TABLES)
def test_chart_carries_the_current_copies(table: str) -> None:
    copy = (CHART / f"files/{table}.sql").read_text()
    assert copy == (DDL_DIR / f"{table}.sql").read_text(), "run `make helm-sync`"


def test_make_helm_sync_copies_every_ddl_file() -> None:
    mk = (ROOT / "mk/helm.mk").read_text()
    (line,) = [x for x in mk.splitlines() if x.startswith("HELM_DDL :=")]
    assert sorted(line.split()[2:]) == sorted(
        str(p.relative_to(ROOT)) for p in DDL_DIR.glob("*.sql")
    )


def test_schema_job_applies_the_ddl_with_secret_credentials(production: Rendered) -> None:
    job = production.one("Job", "-schema")
    cm = production.one("ConfigMap", "-schema")
    assert cm["data"]["otel_logs.sql"] == DDL.read_text()
    assert cm["data"]["otel_traces.sql"] == TRACES_DDL.read_text()
    for doc in (job, cm):
        assert doc["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    # The ConfigMap hook is created before the Job hook.
    weight = "helm.sh/hook-weight"
    assert int(cm["metadata"]["annotations"][weight]) < int(job["metadata"]["annotations"][weight])
    (c,) = job["spec"]["template"]["spec"]["containers"]
    assert c["command"] == ["/bin/sh", "/ddl/apply.sh"]
    assert set(secret_env(c).values()) == {
        ("prodtel-clickhouse", "endpoint"),
        ("prodtel-clickhouse", "username"),
        ("prodtel-clickhouse", "password"),
    }


@pytest.fixture
def schema_script(production: Rendered, tmp_path: Path) -> Path:
    """The Job's apply.sh with a recording clickhouse-client stub first on PATH."""
    cm = production.one("ConfigMap", "-schema")
    script = tmp_path / "apply.sh"
    script.write_text(cm["data"]["apply.sh"])
    stub = tmp_path / "bin/clickhouse-client"
    stub.parent.mkdir()
    stub.write_text('#!/bin/sh\nprintf "%s\\n" "$*" >> "$CALLS"\n')
    stub.chmod(0o755)
    return script


def run_schema_script(script: Path, endpoint: str, **extra: str) -> tuple[int, str, list[str]]:
    calls = script.parent / "calls.txt"
    env = {
        **extra,
        "PATH": f"{script.parent / 'bin'}:/usr/bin:/bin",
        "CALLS": str(calls),
        "CLICKHOUSE_ENDPOINT": endpoint,
        "CLICKHOUSE_USERNAME": "prodtel",
        "CLICKHOUSE_PASSWORD": "pw",
        "CLICKHOUSE_DATABASE": "prodtel",
        "DDL_DIR": str(DDL_DIR),
    }
    proc = subprocess.run(["/bin/sh", str(script)], capture_output=True, text=True, env=env)
    lines = calls.read_text().splitlines() if calls.exists() else []
    return proc.returncode, proc.stderr, lines


@pytest.mark.parametrize(
    ("endpoint", "connect"),
    [
        (
            "tcp://clickhouse-prodtel.telemetry.svc:9000",
            "--host clickhouse-prodtel.telemetry.svc --port 9000",
        ),
        (
            "tcp://ch.example:9440?secure=true&dial_timeout=5s",
            "--host ch.example --port 9440 --secure",
        ),
        ("clickhouse://ch.example/prodtel", "--host ch.example --port 9000"),
        ("tcp://ch-a:9000,ch-b:9000", "--host ch-a --port 9000"),
    ],
)
def test_schema_script_connects_where_the_exporter_does(
    schema_script: Path, endpoint: str, connect: str
) -> None:
    rc, err, calls = run_schema_script(schema_script, endpoint)
    assert rc == 0, err
    auth = "--user prodtel --password pw"
    assert calls == [
        f"{connect} {auth} --query SELECT 1",
        f"{connect} {auth} --query CREATE DATABASE IF NOT EXISTS `prodtel`",
        f"{connect} {auth} --database prodtel --queries-file {DDL}",
        f"{connect} {auth} --database prodtel --queries-file {TRACES_DDL}",
    ]


CHDB_CHECK = """
import json, sys
from chdb import session
s = session.Session(sys.argv[1])
out = {}
for i, sql in enumerate(json.loads(sys.argv[2])):
    try:
        s.query("EXPLAIN AST " + sql)
        out[i] = "ok"
    except Exception as e:
        out[i] = str(e)[:300]
print(json.dumps(out))
"""


def test_cluster_ddl_is_replicated_local_tables_under_a_distributed_one(
    schema_script: Path, tmp_path: Path
) -> None:
    rc, err, calls = run_schema_script(
        schema_script,
        "tcp://ch:9000",
        CLUSTER_NAME="prod",
        RETENTION_DAYS="395",
        TMPDIR=str(tmp_path),
    )
    assert rc == 0, err
    sqls = [c.split("--query ", 1)[1] for c in calls if "--query " in c][1:]
    assert sqls[0] == "CREATE DATABASE IF NOT EXISTS `prodtel` ON CLUSTER `prod`"
    files = [c.split("--queries-file ", 1)[1] for c in calls if "--queries-file " in c]
    assert files == [str(tmp_path / f"{t}_local.sql") for t in TABLES]
    # Logs spread at random; a trace's spans stay on one shard.
    shard = {"otel_logs": "rand()", "otel_traces": "cityHash64(TraceId)"}
    expected = [sqls[0]]
    for t in TABLES:
        local = (tmp_path / f"{t}_local.sql").read_text()
        assert f"CREATE TABLE IF NOT EXISTS {t}_local ON CLUSTER `prod` (" in local
        assert (
            f"ENGINE = ReplicatedMergeTree('/clickhouse/tables/{{shard}}/{{database}}/{t}_local',"
            " '{replica}')" in local
        )
        expected += [
            f"CREATE TABLE IF NOT EXISTS {t} ON CLUSTER `prod` AS {t}_local"
            f" ENGINE = Distributed(`prod`, `prodtel`, {t}_local, {shard[t]})",
            f"ALTER TABLE {t}_local ON CLUSTER `prod` MODIFY TTL toDateTime(Timestamp)"
            " + INTERVAL 395 DAY",
        ]
    assert sqls == expected
    # Every statement parses as ClickHouse SQL (chDB is the ClickHouse engine).
    bodies = [
        "\n".join(x for x in (tmp_path / f"{t}_local.sql").read_text().splitlines()
                  if not x.startswith("--")).strip().rstrip(";")
        for t in TABLES
    ]  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", CHDB_CHECK, str(tmp_path / "chdb"), json.dumps([*sqls, *bodies])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert set(json.loads(proc.stdout.strip().splitlines()[-1]).values()) == {"ok"}


CHDB_TTL = """
import sys
from chdb import session
s = session.Session(sys.argv[1])
table = sys.argv[4]
name = "SpanName" if table == "otel_traces" else "EventName"
s.query(open(sys.argv[2]).read())
s.query(sys.argv[3])
s.query(f"INSERT INTO {table} (Timestamp, ServiceName, {name}) VALUES "
        "(now64(9) - INTERVAL 400 DAY, 'loadgen', 'old'), (now64(9), 'loadgen', 'new')")
s.query(f"OPTIMIZE TABLE {table} FINAL")
print(str(s.query(f"SELECT groupArray({name}) FROM {table}", "CSV")).strip())
s.close()
"""


@pytest.mark.parametrize("table", TABLES)
def test_retention_ttl_drops_old_rows_on_chdb(
    schema_script: Path, tmp_path: Path, table: str
) -> None:
    rc, err, calls = run_schema_script(schema_script, "tcp://ch:9000", RETENTION_DAYS="395")
    assert rc == 0, err
    ttls = [c.split("--query ", 1)[1] for c in calls if "MODIFY TTL" in c]
    assert ttls == [
        f"ALTER TABLE {t} MODIFY TTL toDateTime(Timestamp) + INTERVAL 395 DAY" for t in TABLES
    ]
    (ttl,) = [x for x in ttls if x.startswith(f"ALTER TABLE {table} ")]
    ddl = DDL_DIR / f"{table}.sql"
    proc = subprocess.run(
        [sys.executable, "-c", CHDB_TTL, str(tmp_path / "chdb"), str(ddl), ttl, table],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "\"['new']\""


def test_chart_passes_cluster_and_retention_to_the_schema_job() -> None:
    r = render([PRODUCTION_VALUES], ["--set clickhouse.cluster_name=prod"])
    (c,) = r.one("Job", "-schema")["spec"]["template"]["spec"]["containers"]
    env = plain_env(c)
    assert env["CLUSTER_NAME"] == "prod" and env["RETENTION_DAYS"] == "395"


def test_schema_script_rejects_http_endpoints(schema_script: Path) -> None:
    rc, err, calls = run_schema_script(schema_script, "http://ch.example:8123")
    assert rc == 2 and calls == []
    assert "native protocol" in err


# The 15 columns of the exporter's v0.152.0 insert template, plus EventName (detected at start).
EXPORTER_INSERT = (
    "Timestamp,TraceId,SpanId,TraceFlags,SeverityText,SeverityNumber,ServiceName,Body,"
    "ResourceSchemaUrl,ResourceAttributes,ScopeSchemaUrl,ScopeName,ScopeVersion,"
    "ScopeAttributes,LogAttributes,EventName"
)
# Runs in its own process: chDB allows one session folder per process, and other tests may
# hold theirs open.
CHDB_SCRIPT = """
import json, sys
from chdb import session
s = session.Session(sys.argv[1])
q = lambda sql, fmt="CSV": str(s.query(sql, fmt)).strip()
s.query("CREATE DATABASE prodtel")
s.query("USE prodtel")
s.query(open(sys.argv[2]).read())
s.query(f"INSERT INTO otel_logs ({sys.argv[3]}) VALUES (now64(9), '', '', 0, 'INFO', 9, "
        "'loadgen', '', '', map('deployment.environment.name', 'prod'), '', 'prodtel', "
        "'0.1.0', map(), map('command', 'run'), 'command')")
print(json.dumps({
    "columns": q("SELECT name, type FROM system.columns WHERE database = 'prodtel' "
                 "AND table = 'otel_logs' AND default_kind = '' ORDER BY position", "JSONCompact"),
    "row": q("SELECT EventName, LogAttributes['command'], "
             "`__otel_materialized_deployment.environment.name`, toDate(Timestamp) = today() "
             "FROM otel_logs"),
    "partition": q("SELECT partition_key FROM system.tables WHERE name = 'otel_logs'"),
}))
s.close()
"""


def test_otel_logs_ddl_matches_what_the_exporter_inserts(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CHDB_SCRIPT, str(tmp_path / "chdb"), str(DDL), EXPORTER_INSERT],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    columns = dict(json.loads(got["columns"])["data"])
    assert list(columns) == EXPORTER_INSERT.split(",")
    assert columns["Timestamp"] == "DateTime64(9)"
    assert columns["ResourceAttributes"] == "Map(LowCardinality(String), String)"
    assert got["row"] == '"command","run","prod",1'
    assert got["partition"] == '"toDate(Timestamp)"'


# The 22 columns of the exporter's v0.152.0 traces insert template (Nested as dotted arrays).
EXPORTER_TRACES_INSERT = (
    "Timestamp,TraceId,SpanId,ParentSpanId,TraceState,SpanName,SpanKind,ServiceName,"
    "ResourceAttributes,ScopeName,ScopeVersion,SpanAttributes,Duration,StatusCode,StatusMessage,"
    "Events.Timestamp,Events.Name,Events.Attributes,"
    "Links.TraceId,Links.SpanId,Links.TraceState,Links.Attributes"
)
CHDB_TRACES_SCRIPT = """
import json, sys
from chdb import session
s = session.Session(sys.argv[1])
q = lambda sql, fmt="CSV": str(s.query(sql, fmt)).strip()
s.query("CREATE DATABASE prodtel")
s.query("USE prodtel")
s.query(open(sys.argv[2]).read())
s.query(f"INSERT INTO otel_traces ({sys.argv[3]}) VALUES (now64(9), '5a', '01', '', '', "
        "'http.client', 'Client', 'spanapp', map('service.name', 'spanapp'), 'httpx', '0.1', "
        "map('http.request.method', 'GET'), 1500, 'Error', 'failed', [now64(9)], ['exception'], "
        "[map('exception.type', 'E')], [], [], [], [])")
print(json.dumps({
    "columns": q("SELECT name, type FROM system.columns WHERE database = 'prodtel' "
                 "AND table = 'otel_traces' ORDER BY position", "JSONCompact"),
    "row": q("SELECT SpanName, SpanAttributes['http.request.method'], Events.Name[1], "
             "Events.Attributes[1]['exception.type'], Duration, toDate(Timestamp) = today() "
             "FROM otel_traces"),
    "partition": q("SELECT partition_key FROM system.tables WHERE name = 'otel_traces'"),
}))
s.close()
"""


def test_otel_traces_ddl_matches_what_the_exporter_inserts(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            CHDB_TRACES_SCRIPT,
            str(tmp_path / "chdb"),
            str(TRACES_DDL),
            EXPORTER_TRACES_INSERT,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    columns = dict(json.loads(got["columns"])["data"])
    assert list(columns) == EXPORTER_TRACES_INSERT.split(",")
    assert columns["Timestamp"] == "DateTime64(9)"
    assert columns["Events.Attributes"] == "Array(Map(LowCardinality(String), String))"
    assert got["row"] == '"http.client","GET","exception","E",1500,1'
    assert got["partition"] == '"toDate(Timestamp)"'


CHI_EXAMPLE = EXAMPLES / "clickhouse-installation.yaml"


def test_clickhouse_installation_example_passes_the_crd_check() -> None:
    (chi,) = [d for d in yaml.safe_load_all(CHI_EXAMPLE.read_text()) if d]
    for version in (OLDEST, NEWEST):
        assert chi_errors(chi, version) == []
    # It matches what the chart expects by default.
    assert chi["metadata"]["name"] == "prodtel"  # networkPolicy.egress.clickhouse podSelector
    users = chi["spec"]["configuration"]["users"]
    assert users["prodtel/k8s_secret_password"] == "prodtel-clickhouse/password"


def _broken(edit: str) -> dict[str, Any]:
    chi: dict[str, Any] = yaml.safe_load(CHI_EXAMPLE.read_text())
    spec = chi["spec"]
    conf = spec["configuration"]
    pod = spec["templates"]["podTemplates"][0]["spec"]
    if edit == "plain password":
        conf["users"]["prodtel/password"] = "hunter2"
    elif edit == "unknown spec key":
        spec["configurations"] = {}
    elif edit == "string shardsCount":
        conf["clusters"][0]["layout"]["shardsCount"] = "1"
    elif edit == "dangling template":
        spec["defaults"]["templates"]["podTemplate"] = "missing"
    elif edit == "replicas without keeper":
        conf["clusters"][0]["layout"]["replicasCount"] = 2
    elif edit == "bad pod spec":
        pod["containers"][0]["securityContext"]["readOnlyRootFs"] = True
    elif edit == "wrong apiVersion":
        chi["apiVersion"] = "clickhouse.altinity.com/v2"
    return chi


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("plain password", "use k8s_secret_password"),
        ("unknown spec key", "'configurations' was unexpected"),
        ("string shardsCount", "'1' is not of type 'integer'"),
        ("dangling template", "'missing' is not defined in spec.templates.podTemplates"),
        ("replicas without keeper", "replicas need zookeeper/keeper nodes"),
        ("bad pod spec", "podTemplates.clickhouse"),
        ("wrong apiVersion", "'clickhouse.altinity.com/v1' was expected"),
    ],
)
def test_crd_check_rejects_broken_installations(edit: str, message: str) -> None:
    errors = chi_errors(_broken(edit), NEWEST)
    assert any(message in e for e in errors), errors


def test_docs_cover_install_values_secrets_upgrades_and_scaling() -> None:
    doc = (ROOT / "docs/kubernetes.md").read_text()
    for heading in ("## Install", "## Values", "## Secrets", "## Upgrades", "## Scaling"):
        assert heading in doc
    # Every top-level value is documented.
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    missing = [k for k in values if f"`{k}" not in doc]
    assert missing == []
