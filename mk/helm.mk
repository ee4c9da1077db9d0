# Helm chart for otelcol-prodtel (collector-config/helm/prodtel-collector) and its checks.
# `make helm-tools` installs real helm (built from Go modules) and kubernetes-validate;
# `make pytest` runs tests/test_helm.py with them; `make helm-check` lints the chart.
HELM_VERSION := v3.22.0
# helm's default Capabilities.KubeVersion comes from ldflags (its Makefile derives it from the
# client-go it builds with: v0.37 -> 1.37); `go install` alone would leave 1.20.
HELM_KUBE_MINOR := 37
HELM_BIN := $(BUILD)/bin/helm-$(HELM_VERSION)
HELM := $(BUILD)/bin/helm
HELM_LDFLAGS := -s -w -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
	-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 \
	-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$(HELM_KUBE_MINOR) \
	-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 \
	-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$(HELM_KUBE_MINOR)
KUBERNETES_VALIDATE_VERSION := 1.37.0
KUBERNETES_VALIDATE_STAMP := $(VENV)/.kubernetes-validate-$(KUBERNETES_VALIDATE_VERSION)
HELM_CHART := collector-config/helm/prodtel-collector
HELM_EXAMPLES := collector-config/helm/examples
# The chart cannot read files outside its directory, so it carries copies of the DDL files; `make
# helm-sync` refreshes them. The chart ships no pipeline (it fails closed): pass the generated one
# at install time, `helm install ... --set-file pipeline=collector-config/<app>.yaml`.
HELM_DDL := collector-config/clickhouse/otel_logs.sql collector-config/clickhouse/otel_traces.sql
# The pipeline the lint renders with.
HELM_PIPELINE := collector-config/loadgen.yaml
export PRODTEL_HELM := $(HELM)

.PHONY: helm-tools helm-sync helm-check
helm-tools: $(HELM) $(KUBERNETES_VALIDATE_STAMP)

$(HELM): $(HELM_BIN)
	ln -sf $(notdir $(HELM_BIN)) $@
$(HELM_BIN):
	@echo "building helm $(HELM_VERSION) from Go modules (first build takes about 2 minutes)"
	mkdir -p $(BUILD)/bin/helm-tmp
	GOBIN=$(BUILD)/bin/helm-tmp go install -trimpath -ldflags '$(HELM_LDFLAGS)' helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
	mv $(BUILD)/bin/helm-tmp/helm $@ && rmdir $(BUILD)/bin/helm-tmp
	$@ version --short

$(KUBERNETES_VALIDATE_STAMP): | venv
	$(BIN)/pip install -q kubernetes-validate==$(KUBERNETES_VALIDATE_VERSION)
	touch $@

helm-sync:
	cp $(HELM_DDL) $(HELM_CHART)/files/

# tests/test_helm.py (run by `make pytest`) needs the tools.
pytest: helm-tools
test-fast: helm-tools

helm-check: helm-tools
	for f in $(HELM_DDL); do cmp $$f $(HELM_CHART)/files/$$(basename $$f) || { echo "run: make helm-sync"; exit 1; }; done
	$(HELM) lint --strict $(HELM_CHART) --set-file pipeline=$(HELM_PIPELINE)
	$(HELM) lint --strict $(HELM_CHART) --set-file pipeline=$(HELM_PIPELINE) -f $(HELM_EXAMPLES)/values-production.yaml

TEST_TARGETS += helm-check
