# sentry_events exporter (collector-config/sentryeventsexporter, its own Go module).
# `make test-go` vets and tests it; `make bench-sentryevents` prints conversion ns/event.
SENTRYEVENTS_DIR := collector-config/sentryeventsexporter

.PHONY: test-go bench-sentryevents sentryevents-corpus
test-go:
	cd $(SENTRYEVENTS_DIR) && go vet ./... && go test -count=1 ./...

bench-sentryevents:
	cd $(SENTRYEVENTS_DIR) && go test -run '^$$' -bench . -benchmem -count 5 ./...

# Regenerate the traceback corpus from real Python runs (commit the result).
sentryevents-corpus:
	$(PYTHON) $(SENTRYEVENTS_DIR)/testdata/gen_tracebacks.py

TEST_TARGETS += test-go
