# Analytics over the collector's output (src/prodtel/analytics, docs/analytics.md).
#   make bench-analytics       ingest + report on 1M synthetic events, peak RSS (bench/analytics_bench.py)
#   make analytics-screenshot  a report page from synthetic data, screenshotted by headless Chromium
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
	  --html $(ANALYTICS_DEMO)/report.html > $(ANALYTICS_DEMO)/report.txt
	$(CHROMIUM) --headless --no-sandbox --disable-gpu --disable-background-networking \
	  --disable-component-update --disable-sync --no-first-run \
	  --user-data-dir=$(ANALYTICS_DEMO)/chromium --window-size=1280,2400 \
	  --screenshot=$(abspath docs/analytics-report.png) file://$(ANALYTICS_DEMO)/report.html
	@echo "page: $(ANALYTICS_DEMO)/report.html  screenshot: docs/analytics-report.png"
