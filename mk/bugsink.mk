# Bugsink: a real Sentry-compatible server for the e2e tests (tests/support/bugsink.py).
# It lives in its own venv so its Django pins never touch the project's .venv.
# bugsink is pinned to 2.6.1: 2.6.2 needs a newer certifi than the registry has.
BUGSINK_VERSION := 2.6.1
BUGSINK_VENV := $(BUILD)/bugsink-venv
BUGSINK_STAMP := $(BUGSINK_VENV)/.installed-$(BUGSINK_VERSION)
export PRODTEL_BUGSINK_VENV := $(BUGSINK_VENV)

.PHONY: bugsink
bugsink: $(BUGSINK_STAMP)
$(BUGSINK_STAMP): mk/bugsink.mk
	test -x $(BUGSINK_VENV)/bin/python || $(PYTHON) -m venv $(BUGSINK_VENV)
	$(BUGSINK_VENV)/bin/pip install -q --upgrade pip
	$(BUGSINK_VENV)/bin/pip install -q 'bugsink==$(BUGSINK_VERSION)' gunicorn
	touch $@

# The e2e tests start Bugsink, so pytest needs it installed.
pytest: bugsink
