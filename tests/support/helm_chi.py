"""A small offline check for Altinity `ClickHouseInstallation` objects.

kubernetes-validate has no schema for this CRD (it would only warn), so this checks the part
of the CRD our example uses: the known top-level keys, the cluster layout, users (passwords
only from Secrets), template references, and the embedded pod and PVC specs, which are real
Kubernetes types validated with kubernetes-validate's own schemas.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema
from kubernetes_validate import utils as kv

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_named_list = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["name", "spec"],
        "properties": {"name": {"type": "string", "minLength": 1}, "spec": {"type": "object"}},
    },
}
# Key names follow the operator's CRD (clickhouse.altinity.com/v1).
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "clickhouse.altinity.com/v1"},
        "kind": {"const": "ClickHouseInstallation"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string", "pattern": DNS_LABEL, "maxLength": 40}},
        },
        "spec": {
            "type": "object",
            "required": ["configuration"],
            "additionalProperties": False,
            "properties": {
                "taskID": {"type": "string"},
                "stop": {"type": "string"},
                "restart": {"type": "string"},
                "troubleshoot": {"type": "string"},
                "namespaceDomainPattern": {"type": "string"},
                "templating": {"type": "object"},
                "reconciling": {"type": "object"},
                "useTemplates": {"type": "array"},
                "defaults": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "replicasUseFQDN": {"type": "string"},
                        "distributedDDL": {"type": "object"},
                        "storageManagement": {"type": "object"},
                        "templates": {"$ref": "#/$defs/templateRefs"},
                    },
                },
                "configuration": {
                    "type": "object",
                    "required": ["clusters"],
                    "additionalProperties": False,
                    "properties": {
                        "zookeeper": {"type": "object"},
                        "users": {"type": "object"},
                        "profiles": {"type": "object"},
                        "quotas": {"type": "object"},
                        "settings": {"type": "object"},
                        "files": {"type": "object"},
                        "clusters": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "required": ["name", "layout"],
                                "additionalProperties": False,
                                "properties": {
                                    "name": {"type": "string", "pattern": DNS_LABEL},
                                    "zookeeper": {"type": "object"},
                                    "settings": {"type": "object"},
                                    "files": {"type": "object"},
                                    "templates": {"$ref": "#/$defs/templateRefs"},
                                    "layout": {
                                        "type": "object",
                                        "required": ["shardsCount", "replicasCount"],
                                        "properties": {
                                            "shardsCount": {"type": "integer", "minimum": 1},
                                            "replicasCount": {"type": "integer", "minimum": 1},
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
                "templates": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "podTemplates": _named_list,
                        "volumeClaimTemplates": _named_list,
                        "serviceTemplates": _named_list,
                        "hostTemplates": {"type": "array"},
                    },
                },
            },
        },
    },
    "$defs": {
        "templateRefs": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                k: {"type": "string"}
                for k in [
                    "podTemplate",
                    "dataVolumeClaimTemplate",
                    "logVolumeClaimTemplate",
                    "serviceTemplate",
                    "clusterServiceTemplate",
                    "shardServiceTemplate",
                    "replicaServiceTemplate",
                    "hostTemplate",
                    "volumeClaimTemplate",
                ]
            },
        }
    },
}
# users: "<user>/<setting>" keys; a password must come from a Secret (k8s_secret_*).
USER_KEY = re.compile(r"^[A-Za-z0-9_]+/[A-Za-z0-9_/]+$")
PLAIN_PASSWORD = re.compile(r"/password(_sha256_hex|_double_sha1_hex)?$")
REF_KINDS = {
    "podTemplate": "podTemplates",
    "dataVolumeClaimTemplate": "volumeClaimTemplates",
    "logVolumeClaimTemplate": "volumeClaimTemplates",
    "volumeClaimTemplate": "volumeClaimTemplates",
    "serviceTemplate": "serviceTemplates",
    "clusterServiceTemplate": "serviceTemplates",
}


def chi_errors(chi: dict[str, Any], kube_version: str) -> list[str]:
    """Problems found in one ClickHouseInstallation (empty when it passes)."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = [
        f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator.iter_errors(chi)
    ]
    if errors:
        return errors
    spec = chi["spec"]
    conf = spec["configuration"]
    for key in conf.get("users", {}):
        if not USER_KEY.match(key):
            errors.append(f"users: {key!r} is not <user>/<setting>")
        elif PLAIN_PASSWORD.search(key):
            errors.append(
                f"users: {key!r} puts a password in the manifest; use k8s_secret_password"
            )
    for cluster in conf["clusters"]:
        if cluster["layout"]["replicasCount"] > 1 and not (
            conf.get("zookeeper") or cluster.get("zookeeper")
        ):
            errors.append(f"cluster {cluster['name']}: replicas need zookeeper/keeper nodes")
    templates = spec.get("templates", {})
    defined = {
        kind: {t["name"] for t in templates.get(kind, [])} for kind in set(REF_KINDS.values())
    }
    ref_sets = [spec.get("defaults", {}).get("templates", {})]
    ref_sets += [c.get("templates", {}) for c in conf["clusters"]]
    for refs in ref_sets:
        for field, name in refs.items():
            kind = REF_KINDS.get(field)
            if kind and name not in defined[kind]:
                errors.append(
                    f"templates.{field}: {name!r} is not defined in spec.templates.{kind}"
                )
    for t in templates.get("podTemplates", []):
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": t["name"]},
            "spec": t["spec"],
        }
        errors += _kube(pod, kube_version, f"podTemplates.{t['name']}")
    for t in templates.get("volumeClaimTemplates", []):
        pvc = {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": t["name"]},
            "spec": t["spec"],
        }
        errors += _kube(pvc, kube_version, f"volumeClaimTemplates.{t['name']}")
    return errors


def _kube(obj: dict[str, Any], version: str, where: str) -> list[str]:
    try:
        kv.validate(obj, version, strict=True)
    except kv.ValidationError as e:
        return [f"{where}: {'.'.join(map(str, e.path))}: {e.message}"]
    return []
