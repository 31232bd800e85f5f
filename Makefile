# streamauth developer commands: `make help` lists them. `make run` installs what serving needs on
# first use; `make test` and `make lint` add their tools (one stamp file per group in .venv).
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
LINT_STAMP := $(VENV)/.installed-lint
STAMP := $(VENV)/.installed
SAM_VENV := .build/sam
SAM := $(SAM_VENV)/bin/sam
# The newest Python >= 3.11 on the machine (Lambda runs 3.12; pyenv users: PYENV_VERSION=3.12.1).
PYTHON ?= $(shell for p in python3.12 python3.13 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; done)
EXAMPLES ?= 100
HOST ?= 127.0.0.1
PORT ?= 3000
API ?= http://$(HOST):$(PORT)
STATE ?= .local/state.json

.PHONY: help browser docs-ui console-ui install run reset test fuzz security unit integration e2e lint format bench bench-scale admin-token hook-url check-keys rotate-keys put-event build deploy invoke clean

help: ## list the targets (PORT=4200 make run serves on another port)
	@echo "streamauth: make <target>   (PORT=$(PORT); e.g. PORT=4200 make run)"
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-zA-Z_-]+):.*## (.*)/\1\t\2/' | \
		awk -F '\t' '{printf "  %-13s %s\n", $$1, $$2}'

# What serving needs (pyproject.toml's dependencies and the layer): a light venv, quick to make.
$(RUN_STAMP): pyproject.toml layers/streamauth/pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python >= 3.11 is required (e.g. apt-get install python3 python3-venv)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# --no-compile: a module is compiled when first imported, so only what the runner uses is
	# (156 MB with pip's compile-everything, 117 MB without; pip's own share is 16 MB)
	$(PY) -m pip install -q --no-compile --disable-pip-version-check -e layers/streamauth -e .
	@touch $@

# The test tools (pytest, schemathesis, jwcrypto) and the lint tools (ruff, mypy, cfn-lint, stubs).
$(TEST_STAMP): $(RUN_STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	@touch $@

$(LINT_STAMP): $(RUN_STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test,lint]'
	@touch $@

$(STAMP): $(TEST_STAMP) $(LINT_STAMP)
	@touch $@

install: $(STAMP) ## .venv with everything: the layer (editable), the local API, the test and lint tools

# hls.js and playwright-core (pinned) for the headless-Chromium HLS test, qr (pinned) to read
# back the console's QR code in its browser test; only where npm is.
NPM := $(shell command -v npm)
SWAGGER_UI_VERSION := 5.32.0
NPM_STAMP := .build/npm/.installed
$(NPM_STAMP):
	mkdir -p .build/npm
	test -f .build/npm/package.json || echo '{"private": true}' > .build/npm/package.json
	cd .build/npm && npm install --no-audit --no-fund --silent hls.js@1.7.4 playwright-core@1.65.1 qr@0.7.0
	@touch $@

browser: $(NPM_STAMP) ## hls.js + playwright-core for the browser e2e (Debian's chromium plays it)
BROWSER_DEPS := $(if $(NPM),$(NPM_STAMP))

# Swagger UI (pinned) for /docs, installed at build time and served by `make run` (no CDN).
DOCS_STAMP := .build/docs-ui/.installed
$(DOCS_STAMP):
	mkdir -p .build/docs-ui
	test -f .build/docs-ui/package.json || echo '{"private": true}' > .build/docs-ui/package.json
	cd .build/docs-ui && npm install --no-audit --no-fund --silent swagger-ui-dist@$(SWAGGER_UI_VERSION)
	@touch $@

docs-ui: $(DOCS_STAMP) ## Swagger UI's files (pinned, npm) for /docs; make run serves them (a plain page without)
DOCS_DEPS := $(if $(NPM),$(DOCS_STAMP))

# The operator console's QR encoder (uqr, pinned), copied beside the console's own files
# (functions/console/static, served by make run and deployed as ConsoleFunction; no CDN).
UQR_VERSION := 0.1.3
CONSOLE_QR := functions/console/static/uqr.mjs
$(CONSOLE_QR):
	mkdir -p .build/console-ui
	test -f .build/console-ui/package.json || echo '{"private": true}' > .build/console-ui/package.json
	cd .build/console-ui && npm install --no-audit --no-fund --silent uqr@$(UQR_VERSION)
	cp .build/console-ui/node_modules/uqr/dist/index.mjs $@

console-ui: $(CONSOLE_QR) ## the console's QR encoder (uqr, pinned, npm); make run serves /console without it (no QR)
CONSOLE_DEPS := $(if $(NPM),$(CONSOLE_QR))

run: $(RUN_STAMP) $(DOCS_DEPS) $(CONSOLE_DEPS) ## serve the API on http://127.0.0.1:PORT (default 3000); data kept in .local/ (FRESH=1 starts empty; PARAMS="Name=value ...")
	$(if $(PARAMS),STREAMAUTH_PARAMETERS="$(PARAMS)") $(PY) -m localapi run --host $(HOST) --port $(PORT) \
		--state $(STATE) $(if $(FRESH),--fresh)

reset: ## forget the local API's data (.local/state.json); the local keys stay
	rm -f $(STATE)
	@echo "local state cleared: the next make run starts empty"

test: $(TEST_STAMP) $(BROWSER_DEPS) $(DOCS_DEPS) $(CONSOLE_DEPS) ## every test: unit, integration (moto), e2e (local API, nginx-rtmp, ffmpeg, headless Chromium)
	$(PY) -m pytest $(PYTEST_ARGS)

unit: $(TEST_STAMP) ## the unit tests
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

integration: $(TEST_STAMP) ## the integration tests (handlers on moto)
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

security: $(TEST_STAMP) ## the security tests
	$(PY) -m pytest tests/security $(PYTEST_ARGS)

e2e: $(TEST_STAMP) $(BROWSER_DEPS) $(DOCS_DEPS) $(CONSOLE_DEPS) ## the end-to-end tests (a local API, nginx-rtmp, ffmpeg, Chromium)
	$(PY) -m pytest tests/e2e $(PYTEST_ARGS)

$(SAM):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install -q aws-sam-cli

fuzz: $(TEST_STAMP) ## schemathesis against the local API: every operation, EXAMPLES (default 100) examples each
	$(PY) -m localapi.fuzz --examples $(EXAMPLES)

lint: $(LINT_STAMP) $(SAM) ## ruff, mypy, sam validate --lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layers/streamauth/streamauth tools/localapi functions tests
	SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(SAM) validate --lint

format: $(LINT_STAMP) ## ruff fix and format
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(TEST_STAMP) ## cold init ratios and DynamoDB requests per operation
	$(PY) -m localapi.bench

bench-scale: $(TEST_STAMP) ## a flash crowd (100,000 admissions to one stream in a simulated minute) vs the naive design and a policy mix; a refusal flood and the decision log's cost
	$(PY) -m localapi.scale
	$(PY) -m localapi.flood

admin-token: $(RUN_STAMP) ## print an operator JWT for the local API (STACK=<stack name> for a deployed stack)
	@$(PY) -m localapi admin-token $(if $(STACK),--stack $(STACK))

hook-url: $(RUN_STAMP) ## print the media-server hook URL prefix for the local API on PORT (STACK=<stack name> for a deployed stack)
	@$(PY) -m localapi hook-url $(if $(STACK),--stack $(STACK),--base $(API))

check-keys: $(RUN_STAMP) ## every key >= 32 bytes and no two alike (the local secrets, or STACK=<stack name>'s)
	@$(PY) -m localapi check-keys $(if $(STACK),--stack $(STACK))

rotate-keys: $(RUN_STAMP) ## rotate the ES256 signing keys: the local ones, or STACK=<stack name>'s (Secrets Manager rotation)
	@$(PY) -m localapi rotate-keys $(if $(STACK),--stack $(STACK))

put-event: $(RUN_STAMP) ## make put-event EVENT=events/revoke_stream_tokens.json (to the make run on PORT)
	@$(PY) -m localapi put-event $(EVENT) --api $(API)

invoke: $(RUN_STAMP) ## make invoke FN=IssueTokenFunction EVENT=events/issue_token.json (in the make run on PORT, else on its own)
	$(PY) -m localapi invoke $(FN) -e $(EVENT) --api $(API)

# The docs page deployed with the stack (ApiDocsFunction): Swagger UI's files and the contract as JSON.
DOCS_STATIC := functions/api_docs/static
$(DOCS_STATIC)/openapi.json: openapi.yaml $(DOCS_STAMP) $(RUN_STAMP)
	mkdir -p $(DOCS_STATIC)
	cp .build/docs-ui/node_modules/swagger-ui-dist/{swagger-ui-bundle.js,swagger-ui.css} $(DOCS_STATIC)/
	$(PY) -c 'import json, yaml; print(json.dumps(yaml.safe_load(open("openapi.yaml"))))' > $@

build: $(SAM) $(RUN_STAMP) $(if $(NPM),$(DOCS_STATIC)/openapi.json) $(CONSOLE_DEPS) ## sam build (no Docker), with the docs page's and the console's files, then bytecode for all the built code (cold starts compile nothing)
	SAM_CLI_TELEMETRY=0 $(SAM) build
	$(PY) -m localapi.bytecode .aws-sam/build

deploy: build ## sam deploy --guided
	SAM_CLI_TELEMETRY=0 $(SAM) deploy --guided

clean: ## remove .venv, .build and the caches (.local/, the keys and state, stays)
	rm -rf $(VENV) .build .aws-sam .pytest_cache .mypy_cache .ruff_cache
