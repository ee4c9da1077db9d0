"""The generated collector config: CLI, staleness check, the shipped configs validate on the real
binary, and the binary holds exactly the manifest's components."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from prodtel import Attr, Catalog, Event
from prodtel.catalog_loader import load_catalog
from prodtel.cli.collector import main
from prodtel.cli.main import main as prodtel_main
from prodtel.collector_config import (
    ENV,
    REDACT_PATTERNS,
    RESOURCE_KEYS,
    allowed_keys,
    config,
    generate,
    ignored_keys,
)
from tests.support.collector import BINARY, ROOT

SPEC = "examples/loadgen/telemetry_catalog.py:CATALOG"
CATALOG = load_catalog(f"{ROOT}/{SPEC}")
SHIPPED = sorted(
    p for p in (ROOT / "collector-config").glob("*.yaml") if p.name != "builder-config.yaml"
)
PY = sys.executable


def run(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env={**_env(), **env})


def _env() -> dict[str, str]:
    import os

    # Every PRODTEL_*/CLICKHOUSE_*/SENTRY_* var at its default, whatever the caller's shell has.
    return {k: v for k, v in os.environ.items() if k not in ENV}


def test_loadgen_config_is_committed_and_current() -> None:
    r = run(
        PY,
        "-m",
        "prodtel.cli.collector",
        "--catalog",
        SPEC,
        "--check",
        "collector-config/loadgen.yaml",
    )
    assert r.returncode == 0, r.stderr
    assert "up to date" in r.stdout


NOTES = "examples/clickapp/notes.py:CATALOG"


def test_multi_app_config_is_committed_current_and_checked(tmp_path: Path) -> None:
    args = ("-m", "prodtel.cli.collector", "--catalog", SPEC, "--catalog", NOTES)
    r = run(PY, *args, "--check", "collector-config/apps.yaml")
    assert r.returncode == 0, r.stderr
    # A change in the second app's catalog makes it stale, and the fix names both catalogs.
    stale = tmp_path / "apps.yaml"
    stale.write_text(
        (ROOT / "collector-config/apps.yaml").read_text().replace('"note_added"', '"note_x"')
    )
    r = run(PY, *args, "--check", str(stale))
    assert r.returncode == 1 and f"{stale} is stale" in r.stderr
    assert f"--catalog {SPEC} --catalog {NOTES} --output {stale}" in r.stderr
    # The same app twice is a mistake, not a silent overwrite.
    r = run(PY, "-m", "prodtel.cli.collector", "--catalog", SPEC, "--catalog", SPEC)
    assert r.returncode == 2 and "two catalogs for the same app: loadgen" in r.stderr


def test_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "loadgen.yaml"
    stale.write_text(generate(CATALOG).replace('"script_exported"', '"script_renamed"'))
    r = run(PY, "-m", "prodtel.cli.collector", "--catalog", SPEC, "--check", str(stale))
    assert r.returncode == 1
    assert f"{stale} is stale" in r.stderr
    assert '"loadgen" and not ContainsValue(["usage_report", "script_exported"' in r.stderr
    assert f"--catalog {SPEC} --output {stale}" in r.stderr
    missing = tmp_path / "nope.yaml"
    r = run(PY, "-m", "prodtel.cli.collector", "--catalog", SPEC, "--check", str(missing))
    assert r.returncode == 1
    assert "does not exist" in r.stderr


def test_catalog_from_a_module_or_a_file(tmp_path: Path) -> None:
    out = tmp_path / "a.yaml"
    # module:ATTR, importable from the working directory, through `python -m`.
    r = run(
        PY,
        "-m",
        "prodtel.cli.collector",
        "collector-config",
        "--catalog",
        "telemetry_catalog:CATALOG",
        "--output",
        str(out),
        cwd=ROOT / "examples/loadgen",
        PYTHONPATH=str(ROOT / "examples/loadgen"),
    )
    assert r.returncode == 0, r.stderr
    assert out.read_text() == generate(CATALOG)
    # path/to/file.py:ATTR through the `prodtel` CLI and the module's own main().
    out2 = tmp_path / "b.yaml"
    assert prodtel_main(["collector-config", "--catalog", SPEC, "--output", str(out2)]) == 0
    assert out2.read_text() == generate(CATALOG)
    assert main(["--catalog", SPEC, "--check", str(out2)]) == 0


def test_catalog_drives_filter_and_attribute_lists() -> None:
    cfg = config(CATALOG)
    conds = cfg["processors"]["filter/catalog"]["log_conditions"]
    assert conds[0] == 'not ContainsValue(["loadgen"], resource.attributes["service.name"])'
    assert conds[1].startswith('resource.attributes["service.name"] == "loadgen" and not ')
    for name in CATALOG.events:
        assert f'"{name}"' in conds[1]
    groups = cfg["processors"]["transform/catalog"]["log_statements"]
    app = 'resource.attributes["service.name"] == "loadgen"'
    by_event = {
        g["conditions"][0].removeprefix(f"{app} and "): g["statements"]
        for g in groups
        if "log.event_name" in str(g.get("conditions"))
    }
    assert len(by_event) == len(CATALOG.events)
    usage = by_event['log.event_name == "usage_report"']
    assert usage[0] == (
        'keep_keys(log.attributes, ["vus_max", "iterations", "duration", "st_duration", '
        '"executor", "is_ci", "log.record.uid"])'
    )
    # Free-form strings are scanned by the redaction; pinned-down values are not.
    assert "exception.message" in allowed_keys(CATALOG)
    assert "exception.message" not in ignored_keys(CATALOG)
    assert {"executor", "vus_max", "log.record.uid", "is_ci"} <= set(ignored_keys(CATALOG))
    # A new event shows up in the generated text.
    more = Catalog("loadgen", [*CATALOG.events.values(), Event("brand_new", "x")])
    assert '"brand_new"' in generate(more)
    assert '"brand_new"' not in generate(CATALOG)


def test_declared_network_addresses_are_never_kept() -> None:
    cat = Catalog(
        "app",
        [
            Event(
                "e",
                "x",
                attrs=[
                    Attr("client.address", str, "x"),
                    Attr("network.peer.address", str, "x"),
                    Attr("http.client_ip", str, "x"),
                    Attr("source", str, "x"),  # not an address: kept
                ],
            )
        ],
        context=[Attr("net.peer.ip", str, "x")],
        include_builtins=False,
    )
    text = generate(cat)
    for name in ("client.address", "network.peer.address", "http.client_ip", "net.peer.ip"):
        assert name not in text
    assert 'keep_keys(log.attributes, ["source", "log.record.uid"])' in text
    assert allowed_keys(cat) == sorted({"source", "log.record.uid", *RESOURCE_KEYS})


def test_a_name_free_form_anywhere_is_scanned_everywhere() -> None:
    cat = Catalog(
        "app",
        [
            Event("a", "x", attrs=[Attr("mode", str, "x", enum=["on", "off"])]),
            Event("b", "x", attrs=[Attr("mode", str, "free text")]),
        ],
    )
    assert "mode" not in ignored_keys(cat)


@pytest.mark.parametrize("config_path", SHIPPED, ids=lambda p: p.name)
@pytest.mark.parametrize(
    "env",
    [
        {},
        {"PRODTEL_ANALYTICS_EXPORTERS": "[clickhouse]"},
        {"PRODTEL_ERRORS_EXPORTERS": "[sentry_events]", "SENTRY_DSN": "https://k@127.0.0.1/1"},
        {"PRODTEL_ANALYTICS_EXPORTERS": "[file/analytics, clickhouse]"},
    ],
    ids=["defaults", "clickhouse", "sentry", "both"],
)
def test_shipped_configs_validate(config_path: Path, env: dict[str, str]) -> None:
    r = run(str(BINARY), "validate", f"--config={config_path}", **env)
    assert r.returncode == 0, r.stderr


def test_validate_catches_a_bad_selection() -> None:
    cfg = ROOT / "collector-config/loadgen.yaml"
    r = run(str(BINARY), "validate", f"--config={cfg}", PRODTEL_ANALYTICS_EXPORTERS="[nope]")
    assert r.returncode != 0
    assert 'references exporter "nope" which is not configured' in r.stderr
    r = run(str(BINARY), "validate", f"--config={cfg}", SENTRY_DSN="not a dsn")
    assert r.returncode != 0
    assert "sentry_events" in r.stderr


def test_shipped_configs_are_found() -> None:
    assert ROOT / "collector-config/loadgen.yaml" in SHIPPED


ODD = [
    "it's",
    'say "hi"',
    "a: b",
    "#x",
    "true",
    "1.5",
    "x,y",
    "[z]",
    "back\\slash",
    "é",
    "$HOME",
    "- item",
    "{k: v}",
    "line\nbreak",
    "tab\there",
    "  padded  ",
    "",
    "null",
    "~",
    "0x1F",
]
ODD_CATALOG = Catalog("odd", [Event("e", "x", attrs=[Attr("v", str, "x", enum=ODD)])])


def test_odd_enum_values_survive_yaml_and_ottl_quoting(tmp_path: Path) -> None:
    cfg = tmp_path / "odd.yaml"
    cfg.write_text(generate(ODD_CATALOG))
    r = run(str(BINARY), "validate", f"--config={cfg}")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize(
    "catalog",
    [CATALOG, ODD_CATALOG],
    ids=["loadgen", "odd"],
)
def test_yaml_text_loads_back_to_the_same_config(catalog: Catalog) -> None:
    # Every OTTL statement and RE2 pattern reaches the collector exactly as generated.
    text = generate(catalog)
    assert yaml.safe_load(text) == config(catalog)


def test_each_statement_is_one_readable_line() -> None:
    text = generate(CATALOG)
    groups = config(CATALOG)["processors"]["transform/catalog"]["log_statements"]
    statements = [st for g in groups for st in g["statements"]]
    assert len(statements) > 20
    for st in statements:
        assert f"\n          - {st}\n" in text  # not folded, not quoted


def test_redaction_regex_survives_yaml_and_config_expansion() -> None:
    loaded = yaml.safe_load(generate(CATALOG))["processors"]["redaction"]["blocked_values"]
    # The collector turns `$$` back into `$` when it expands the config.
    assert [v.replace("$$", "$") for v in loaded] == ["|".join(f"(?:{p})" for p in REDACT_PATTERNS)]


def test_without_pyyaml_the_cli_says_what_to_install(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['yaml'] = None\n"
        "from prodtel.cli.collector import main\n"
        f"sys.exit(main(['--catalog', {SPEC!r}, '--output', 'x.yaml']))"
    )
    r = run(PY, "-c", code, cwd=ROOT)
    assert r.returncode == 1
    assert r.stderr == ("prodtel collector-config needs PyYAML: pip install 'prodtel[collector]'\n")


def test_collector_config_imports_no_cli() -> None:
    # The config generator sits below the CLIs: importing it must not pull any CLI module in.
    pkg = ROOT / "src/prodtel/collector_config"
    imported = set()
    for path in pkg.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(a.name for a in node.names)
    assert imported and not {m for m in imported if m.startswith("prodtel.cli")}


def _manifest() -> dict[str, set[str]]:
    """builder-config.yaml's `gomod` lines per section, without a YAML library."""
    out: dict[str, set[str]] = {}
    section = ""
    for line in (ROOT / "collector-config/builder-config.yaml").read_text().splitlines():
        if m := re.match(r"^([a-z]+):\s*$", line):
            section = m.group(1)
        elif m := re.match(r"^\s*-\s*gomod:\s*(\S+)\s+(\S+)", line):
            out.setdefault(section, set()).add(f"{m.group(1)} {m.group(2)}")
    return out


def test_components_are_exactly_the_manifest() -> None:
    r = run(str(BINARY), "components")
    assert r.returncode == 0, r.stderr
    built: dict[str, set[str]] = {}
    section = ""
    for line in r.stdout.splitlines():
        if m := re.match(r"^([a-z]+):\s*$", line):
            section = m.group(1)
        elif m := re.match(r"^\s+module:\s*(.+?)\s*$", line):
            built.setdefault(section, set()).add(m.group(1))
    manifest = _manifest()
    assert set(manifest) == {
        "receivers",
        "processors",
        "connectors",
        "exporters",
        "extensions",
        "providers",
    }
    assert built == manifest
