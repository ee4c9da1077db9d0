# Collector pipeline configs generated from app catalogs (src/prodtel/collector_config, docs/collector.md).
#   make collector-configs   regenerate every committed config from its catalog
#   make collector-check     fail if one is stale; `otelcol-prodtel validate` every shipped config
#   make bench-collector     load the full pipeline (bench/collector_load.py)
# A generated config NAME lives in collector-config/NAME.yaml; CATALOG_NAME is where it comes from.
COLLECTOR_GENERATED := loadgen apps
CATALOG_loadgen := examples/loadgen/telemetry_catalog.py:CATALOG
# One collector for several apps: each held to its own catalog by service.name.
CATALOG_apps := examples/loadgen/telemetry_catalog.py:CATALOG --catalog examples/clickapp/notes.py:CATALOG
# Every collector config we ship (the OCB manifest is not one).
COLLECTOR_SHIPPED = $(filter-out collector-config/builder-config.yaml,$(wildcard collector-config/*.yaml))
# `validate` every shipped config under env $(1) (quoted shell words; no commas).
define collector_validate
	$(foreach cfg,$(COLLECTOR_SHIPPED),@echo "validate $(cfg) with $(1)" && env $(1) $(COLLECTOR) validate --config=$(cfg)
	)
endef

.PHONY: collector-configs collector-check bench-collector
collector-configs: venv
	$(foreach n,$(COLLECTOR_GENERATED),$(PY) -m prodtel.cli.collector --catalog $(CATALOG_$(n)) --output collector-config/$(n).yaml &&) true

collector-check: venv collector
	$(foreach n,$(COLLECTOR_GENERATED),$(PY) -m prodtel.cli.collector --catalog $(CATALOG_$(n)) --check collector-config/$(n).yaml || { echo "run: make collector-configs"; exit 1; } &&) true
	$(call collector_validate,'PRODTEL_ANALYTICS_EXPORTERS=[file/analytics]')
	$(call collector_validate,'PRODTEL_ANALYTICS_EXPORTERS=[clickhouse]')
	$(call collector_validate,'PRODTEL_ERRORS_EXPORTERS=[sentry_events]' 'SENTRY_DSN=https://key@127.0.0.1/1')

bench-collector: venv collector
	$(PY) bench/collector_load.py

TEST_TARGETS += collector-check
