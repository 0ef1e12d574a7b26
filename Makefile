# The two commands a person needs: `make run` (install, migrate, demo data,
# serve) and `make test` (install, then the whole pytest suite). The other
# targets are conveniences; see README.md.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
PORT ?= 8000
VAR_DIR ?= var
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
# Extra arguments for every pytest run, e.g. `make test PYTEST_ARGS="-x -k login"`.
PYTEST_ARGS ?=
ARTIFACTS := test-artifacts
DEMO_STAMP := $(VAR_DIR)/.demo-seeded

# The first uv that answers: on PATH, the one pip installed for $(PYTHON), or
# our own bootstrap venv's. Recursively expanded, so it is looked up again
# after `uv-bootstrap`.
UV_BOOT_VENV := var/tools/uv-venv
UV = $(shell for c in uv "$$($(PYTHON) -c 'import uv; print(uv.find_uv_bin())' 2>/dev/null)" \
	"$(UV_BOOT_VENV)/bin/uv"; do \
	if [ -n "$$c" ] && "$$c" --version >/dev/null 2>&1; then command -v "$$c"; break; fi; done)

CHROMIUM := $(or $(CHROMIUM_PATH),/usr/bin/chromium)

.PHONY: help run test install uv-bootstrap python-deps node-deps messages migrate seed \
	lint format worker beat check-deploy bench

help:
	@echo "make run    install everything, migrate, load the demo data once, serve on http://127.0.0.1:$(PORT)/"
	echo "make test   install everything, run the whole pytest suite (see README.md)"
	echo "make lint   ruff check .         make format  ruff format ."
	echo "make worker / make beat         Celery worker / beat for the full mode (needs REDIS_URL)"
	echo "make seed   load the demo data now (does nothing when tickets exist)"
	echo "make check-deploy / make bench"

# --- installation ------------------------------------------------------------

install: python-deps node-deps messages

uv-bootstrap:
	@if [ -n "$(UV)" ]; then exit 0; fi
	echo "uv not found: installing it from PyPI with pip"
	if ! $(PYTHON) -m pip install --user --quiet uv; then
		echo "pip --user refused; installing uv into $(UV_BOOT_VENV)"
		$(PYTHON) -m venv "$(UV_BOOT_VENV)"
		"$(UV_BOOT_VENV)/bin/pip" install --quiet uv
	fi

python-deps: uv-bootstrap
	@uv="$(UV)"
	if [ -z "$$uv" ]; then echo "uv could not be installed" >&2; exit 1; fi
	# .python-version asks for 3.12; a machine without it uses its own python3
	# (pyproject requires >= 3.12), never a downloaded interpreter.
	pick=()
	if ! "$$uv" python find --no-python-downloads >/dev/null 2>&1; then
		pick=(--python "$$(command -v $(PYTHON))")
	fi
	"$$uv" sync --frozen --no-python-downloads "$${pick[@]}"

node-deps: node_modules/.npm-ci.stamp

node_modules/.npm-ci.stamp: package.json package-lock.json
	@echo "npm ci (node_modules missing or the lock file changed)"
	npm ci --no-audit --no-fund
	touch $@

# The compiled catalogues are committed too, so a machine without gettext's
# msgfmt just uses them.
messages: python-deps
	@pos=$$(find . -path ./.venv -prune -o -path ./node_modules -prune -o -path ./var -prune \
		-o -name '*.po' -path '*/LC_MESSAGES/*' -print | head -n1)
	if [ -z "$$pos" ]; then exit 0; fi
	if ! command -v msgfmt >/dev/null 2>&1; then
		echo "msgfmt not found: using the committed .mo catalogues"; exit 0
	fi
	$(MANAGE) compilemessages --ignore=.venv --ignore=node_modules --ignore=var -v 0

# --- running -------------------------------------------------------------------

migrate: install
	@$(MANAGE) migrate --noinput

seed: migrate
	@$(MANAGE) seed_demo

run: migrate
	@if [ ! -e "$(DEMO_STAMP)" ]; then
		if $(MANAGE) help seed_demo >/dev/null 2>&1; then
			echo "First run: loading the demo data (manage.py seed_demo)"
			$(MANAGE) seed_demo
			mkdir -p "$(VAR_DIR)" && touch "$(DEMO_STAMP)"
		else
			echo "manage.py seed_demo is not available yet: starting without demo data"
		fi
	fi
	debug=$$($(PY) -c 'import os; os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings"); import django; django.setup(); from django.conf import settings; print(int(settings.DEBUG))')
	if [ "$$debug" = 0 ]; then $(MANAGE) collectstatic --noinput -v 0; fi
	echo
	echo "  Central de Atendimento: http://127.0.0.1:$(PORT)/"
	echo "  Login:                  http://127.0.0.1:$(PORT)/accounts/login/"
	echo "  Demo users, password demo1234: admin (Administrador), supervisor (Supervisor), agente (Agente)"
	echo "  Stop with Ctrl+C."
	echo
	exec $(VENV)/bin/daphne -b 127.0.0.1 -p "$(PORT)" servicedesk.asgi:application

worker: install
	@exec $(VENV)/bin/celery -A servicedesk worker -l info

beat: install
	@exec $(VENV)/bin/celery -A servicedesk beat -l info -s "$(VAR_DIR)/celerybeat-schedule"

bench: python-deps
	@for f in bench/*.py; do echo "== $$f"; $(PY) "$$f"; done

# --- quality -------------------------------------------------------------------

lint: python-deps
	@$(VENV)/bin/ruff check .

format: python-deps
	@$(VENV)/bin/ruff format .

# Production values (an SMTP EMAIL_URL too: Django flags the file backend in
# production): any warning fails.
check-deploy: python-deps
	@DEBUG=0 ALLOWED_HOSTS=example.com \
		SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(64))')" \
		$(MANAGE) check --deploy --fail-level WARNING

# --- tests ---------------------------------------------------------------------
#
# Up to three pytest runs, so that every test runs where it belongs:
#   1. embedded mode (SQLite, in-memory channel layer, eager tasks): everything
#      but the `postgres` and `integration` tests; the browser tests run here;
#   2. when DATABASE_URL is set: the same fast tests again plus the `postgres`
#      ones, on PostgreSQL (browser tests are not repeated);
#   3. when DATABASE_URL and REDIS_URL are set: the `integration` tests in the
#      full mode (PostgreSQL + Redis).
# With CI=true a missing DATABASE_URL/REDIS_URL or Chromium is an error, not a skip.
test: install
	@mkdir -p $(ARTIFACTS)
	rm -f $(ARTIFACTS)/junit-*.xml
	ci=0; case "$${CI:-}" in 1|true|TRUE|True|yes) ci=1;; esac
	db_url="$${DATABASE_URL:-}"; redis_url="$${REDIS_URL:-}"
	if [ $$ci = 1 ] && { [ -z "$$db_url" ] || [ -z "$$redis_url" ]; }; then
		echo "CI=true needs DATABASE_URL and REDIS_URL: postgres/integration tests must not be skipped" >&2
		exit 1
	fi
	if [ ! -x "$(CHROMIUM)" ]; then
		if [ $$ci = 1 ]; then
			echo "CI=true but no Chromium at $(CHROMIUM): the browser tests will fail" >&2
		else
			echo "NOTE: no Chromium at $(CHROMIUM): the browser tests will be SKIPPED" \
				"(apt-get install chromium, or set CHROMIUM_PATH)."
		fi
	fi
	failed=0
	# run NAME LABEL NO_TESTS_OK MARKEXPR [ENV...]: exit 5 (nothing selected) is
	# fine for the optional runs only.
	run() {
		local name=$$1 label=$$2 empty_ok=$$3 expr=$$4; shift 4
		echo; echo "=== make test: $$label (-m \"$$expr\")"
		local rc=0
		env "$$@" $(PY) -m pytest -m "$$expr" --junitxml="$(ARTIFACTS)/junit-$$name.xml" $(PYTEST_ARGS) || rc=$$?
		if [ $$rc = 5 ] && [ $$empty_ok = 1 ]; then echo "(no tests selected for this run)"; rc=0; fi
		if [ $$rc != 0 ]; then failed=1; fi
	}
	run sqlite "SQLite, embedded mode" 0 "not postgres and not integration" -u DATABASE_URL -u REDIS_URL
	if [ -n "$$db_url" ]; then
		run postgres "PostgreSQL: fast and postgres tests" 1 "not browser and not integration" -u REDIS_URL DATABASE_URL="$$db_url"
	else
		echo; echo "DATABASE_URL not set: the PostgreSQL run and the postgres tests were SKIPPED."
	fi
	if [ -n "$$db_url" ] && [ -n "$$redis_url" ]; then
		run full "full mode: integration tests" 1 "integration" DATABASE_URL="$$db_url" REDIS_URL="$$redis_url"
	else
		echo "DATABASE_URL and REDIS_URL not both set: the integration tests were SKIPPED."
	fi
	if [ ! -x "$(CHROMIUM)" ] && [ $$ci = 0 ]; then
		echo "Browser tests were SKIPPED: no Chromium at $(CHROMIUM)."
	fi
	# One closing line over all runs (CI reads it).
	$(PY) -c 'import sys, glob, xml.etree.ElementTree as ET
	suites = [s for f in glob.glob(sys.argv[1] + "/junit-*.xml") for s in ET.parse(f).getroot().iter("testsuite")]
	n = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
	failed = n["failures"] + n["errors"]
	print("\ntotal: %d passed, %d failed, %d skipped" % (n["tests"] - failed - n["skipped"], failed, n["skipped"]))' "$(ARTIFACTS)"
	exit $$failed
