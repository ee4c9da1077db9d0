# Analytics over the collector's output (src/prodtel/analytics, docs/analytics.md).
#   make bench-analytics       ingest + report on 1M synthetic events, peak RSS (bench/analytics_bench.py)
#   make analytics-screenshot  a report page from synthetic data, screenshotted by headless Chromium
#                              (the top of the page, and the product answers further down)
# The tests (tests/test_analytics_*.py) run under `make pytest`: they need the venv's analytics
# extra (chdb, clickhouse-connect, rich) and the collector, both installed by the Makefile.
ANALYTICS_DEMO := $(BUILD)/analytics-demo
CHROMIUM := /usr/bin/chromium

.PHONY: bench-analytics analytics-screenshot
bench-analytics: venv
	$(PY) bench/analytics_bench.py

$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium

analytics-screenshot: venv $(CHROMIUM)
	rm -rf $(ANALYTICS_DEMO) && mkdir -p $(ANALYTICS_DEMO)
	$(PY) -c "from pathlib import Path; from prodtel.analytics import synth; \
	  synth.write_jsonl(synth.sessions(installations=2000, days=30, seed=5), Path('$(ANALYTICS_DEMO)/analytics.jsonl'))"
	$(PY) -m prodtel.analytics ingest $(ANALYTICS_DEMO)/analytics.jsonl --db $(ANALYTICS_DEMO)/db
	$(PY) -m prodtel.analytics report --db $(ANALYTICS_DEMO)/db --days 30 \
	  --catalog examples/loadgen/telemetry_catalog.py:CATALOG \
	  --html $(ANALYTICS_DEMO)/report.html --json > $(ANALYTICS_DEMO)/report.json
	$(CHROMIUM) --headless --no-sandbox --disable-gpu --disable-background-networking \
	  --disable-component-update --disable-sync --no-first-run \
	  --user-data-dir=$(ANALYTICS_DEMO)/chromium --window-size=1280,2400 \
	  --screenshot=$(abspath docs/analytics-report.png) file://$(ANALYTICS_DEMO)/report.html
	$(PY) -c "import json, sys, pathlib; from prodtel.analytics import html; \
	  r = json.loads(pathlib.Path(sys.argv[1]).read_text()); \
	  pathlib.Path(sys.argv[2]).write_text(html.render(r, product_only=True))" \
	  $(ANALYTICS_DEMO)/report.json $(ANALYTICS_DEMO)/product.html
	$(CHROMIUM) --headless --no-sandbox --disable-gpu --disable-background-networking \
	  --disable-component-update --disable-sync --no-first-run \
	  --user-data-dir=$(ANALYTICS_DEMO)/chromium --window-size=1280,3000 \
	  --screenshot=$(abspath docs/analytics-product.png) file://$(ANALYTICS_DEMO)/product.html
	@echo "page: $(ANALYTICS_DEMO)/report.html  screenshots: docs/analytics-report.png," \
	  "docs/analytics-product.png (the product answers, further down the same page)"
