# The two commands: `make run` and `make test`. Both create .venv and install on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test fuzz lint bench sdk manage install clean

# The project with its dev tools, which production never installs (packages/: the offline
# Stripe, and saas-devtools, the `saas` command with its embedded PostgreSQL and Redis).
PACKAGES := packages/stripe-emulator packages/saas-devtools

$(STAMP): pyproject.toml constraints.txt $(PACKAGES:%=%/pyproject.toml)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 needed"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	@# Then the packages, in a pip run of their own: in a .venv made before packages/ existed,
	@# uninstalling the old project removes its `saas` script, saas-devtools' if already there.
	$(BIN)/python -m pip install -q -c constraints.txt $(PACKAGES:%=-e %)
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/saas dev

test: $(STAMP)
	$(BIN)/saas test

# manage.py on what `make run` serves: make manage ARGS="createsuperuser"
manage: $(STAMP)
	$(BIN)/saas manage $(ARGS)

# Schemathesis against a running server: `make test` runs it with 20 examples per operation,
# this with 100 (FUZZ_MAX_EXAMPLES=..., and FUZZ_SEED=... for another seed).
fuzz: $(STAMP)
	FUZZ_MAX_EXAMPLES=$${FUZZ_MAX_EXAMPLES:-100} $(BIN)/saas test tests/fuzz

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_ENV=test $(BIN)/mypy .
	$(BIN)/lint-imports  # the layer contracts in pyproject.toml
	$(BIN)/python ops/pip_audit.py  # known vulnerabilities fail; offline: loudly skipped

bench: $(STAMP)
	$(BIN)/saas bench

# The Python and TypeScript clients, from the OpenAPI schema the app generates, into
# build/sdk/ (gitignored). The TypeScript step needs node and npm (`npm ci` in sdk/).
sdk: $(STAMP)
	$(BIN)/python sdk/generate.py --out build/sdk

clean:
	rm -rf $(VENV) .data staticfiles build/sdk sdk/node_modules
