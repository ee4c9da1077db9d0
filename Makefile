# prodtel: `make demo` runs the example end to end, `make test` runs every check.
# `make test-fast` is the quick loop: lint, types and the unit tier (no e2e tests).
# All install what they need: a venv with the Python deps and the OCB-built collector.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
PY := $(BIN)/python
BUILD := $(abspath build)

# Collector distribution, built by OCB from Go modules (see collector-config/README.md).
OCB_VERSION := 0.152.0
BUILDER := $(BUILD)/bin/builder-v$(OCB_VERSION)
COLLECTOR := $(BUILD)/otelcol-prodtel/otelcol-prodtel
COLLECTOR_SRC := collector-config/builder-config.yaml $(shell find collector-config -name '*.go' -o -name 'go.mod' -o -name 'go.sum' 2>/dev/null)
export PRODTEL_COLLECTOR := $(COLLECTOR)

# Areas add their own check targets to TEST_TARGETS in mk/*.mk.
TEST_TARGETS :=
-include mk/*.mk

.PHONY: all venv collector demo test test-fast lint typecheck pytest bench clean
all: venv collector

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,analytics]'
	touch $@

collector: $(COLLECTOR)
$(BUILDER):
	mkdir -p $(BUILD)/bin
	GOBIN=$(BUILD)/bin/tmp go install go.opentelemetry.io/collector/cmd/builder@v$(OCB_VERSION)
	mv $(BUILD)/bin/tmp/builder $@ && rmdir $(BUILD)/bin/tmp
$(COLLECTOR): $(BUILDER) $(COLLECTOR_SRC)
	@echo "building otelcol-prodtel with OCB v$(OCB_VERSION) (first build takes minutes)"
	@# OCB's own `go mod tidy` fails on test-only deps of deps that the module proxy does not
	@# serve (collector-config/README.md): generate, tidy with -e, then compile.
	$(BUILDER) --config=collector-config/builder-config.yaml --skip-compilation --skip-get-modules
	cd $(dir $(COLLECTOR)) && go mod tidy -e 2>&1 | grep -v '^go: downloading' || true
	$(BUILDER) --config=collector-config/builder-config.yaml --skip-generate --skip-get-modules
	@$(COLLECTOR) components >/dev/null && echo "built $(COLLECTOR)"

demo: venv collector
	$(PY) examples/loadgen/demo.py

lint: venv
	$(BIN)/ruff check src tests examples bench
	$(BIN)/ruff format --check src tests examples bench

# Strict types for every platform prodtel runs on: the Windows and macOS branches are checked
# here even though the tests run on Linux (docs/platforms.md).
typecheck: venv
	$(BIN)/mypy --platform win32
	$(BIN)/mypy --platform darwin
	$(BIN)/mypy --platform linux

pytest: venv collector
	$(BIN)/pytest -q

test: lint typecheck pytest $(TEST_TARGETS)

# The unit tier: every test not marked e2e (those start the collector or Bugsink; see
# tests/conftest.py). It still runs the collector binary and helm as tools (validate, template).
test-fast: lint typecheck collector
	$(BIN)/pytest -q -m "not e2e"

bench: venv collector
	$(BIN)/pip install -q -r bench/requirements.txt
	$(PY) bench/run.py

clean:
	rm -rf $(BUILD)
