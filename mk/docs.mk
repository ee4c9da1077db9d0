# The generated usage page and JSON schema of the example app must match its catalog.
LOADGEN_CATALOG := examples/loadgen/telemetry_catalog.py:CATALOG
TEST_TARGETS += check-docs

.PHONY: docs check-docs
docs: venv
	$(BIN)/prodtel docs --catalog $(LOADGEN_CATALOG) --output examples/loadgen/USAGE.md
	$(BIN)/prodtel schema --catalog $(LOADGEN_CATALOG) --output examples/loadgen/events.schema.json
	$(PY) -m prodtel.settings_doc > docs/settings.md

check-docs: venv
	$(BIN)/prodtel docs --catalog $(LOADGEN_CATALOG) --check examples/loadgen/USAGE.md
	$(BIN)/prodtel schema --catalog $(LOADGEN_CATALOG) --check examples/loadgen/events.schema.json
	$(PY) -m prodtel.settings_doc | diff -u docs/settings.md - || { echo "docs/settings.md is stale: make docs"; exit 1; }
