# streamauth developer commands. `make run` and `make test` set everything up on first use.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SAM_VENV := .build/sam
SAM := $(SAM_VENV)/bin/sam
# The newest Python >= 3.11 on the machine (Lambda runs 3.12; pyenv users: PYENV_VERSION=3.12.1).
PYTHON ?= $(shell for p in python3.12 python3.13 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; done)
EXAMPLES ?= 100
HOST ?= 127.0.0.1
PORT ?= 3000

.PHONY: browser install run test fuzz security unit integration e2e lint format bench bench-scale admin-token hook-url check-keys rotate-keys put-event build deploy invoke clean

$(STAMP): pyproject.toml layers/streamauth/pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python >= 3.11 is required"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e layers/streamauth -e .
	@touch $@

install: $(STAMP) ## create .venv with the layer package (editable) and the dev tools

# hls.js and playwright-core (pinned) for the headless-Chromium HLS test; only where npm is.
NPM := $(shell command -v npm)
NPM_STAMP := .build/npm/.installed
$(NPM_STAMP):
	mkdir -p .build/npm
	test -f .build/npm/package.json || echo '{"private": true}' > .build/npm/package.json
	cd .build/npm && npm install --no-audit --no-fund --silent hls.js@1.7.4 playwright-core@1.65.1
	@touch $@

browser: $(NPM_STAMP) ## hls.js + playwright-core for the browser e2e (Debian's chromium plays it)
BROWSER_DEPS := $(if $(NPM),$(NPM_STAMP))

run: $(STAMP) ## serve the API from template.yaml on http://127.0.0.1:3000, embedded DynamoDB (PARAMS="Name=value ...")
	$(if $(PARAMS),STREAMAUTH_PARAMETERS="$(PARAMS)") $(PY) -m localapi run --host $(HOST) --port $(PORT)

test: $(STAMP) $(BROWSER_DEPS) ## every test: unit, integration (moto), e2e (local API, nginx-rtmp, ffmpeg, headless Chromium)
	$(PY) -m pytest $(PYTEST_ARGS)

unit: $(STAMP)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

integration: $(STAMP)
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

security: $(STAMP)
	$(PY) -m pytest tests/security $(PYTEST_ARGS)

e2e: $(STAMP) $(BROWSER_DEPS)
	$(PY) -m pytest tests/e2e $(PYTEST_ARGS)

$(SAM):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install -q aws-sam-cli

fuzz: $(STAMP) ## schemathesis against the local API: every operation, $(EXAMPLES) examples each
	$(PY) -m localapi.fuzz --examples $(EXAMPLES)

lint: $(STAMP) $(SAM) ## ruff, mypy, sam validate --lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layers/streamauth/streamauth tools/localapi functions tests
	SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(SAM) validate --lint

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP) ## cold init ratios and DynamoDB requests per operation
	$(PY) -m localapi.bench

bench-scale: $(STAMP) ## a flash crowd (100,000 admissions to one stream in a simulated minute) vs the naive design
	$(PY) -m localapi.scale

admin-token: $(STAMP) ## print an operator JWT for the local API (STACK=<stack name> for a deployed stack)
	@$(PY) -m localapi admin-token $(if $(STACK),--stack $(STACK))

hook-url: $(STAMP) ## print the media-server hook URL prefix (STACK=<stack name> for a deployed stack)
	@$(PY) -m localapi hook-url $(if $(STACK),--stack $(STACK))

check-keys: $(STAMP) ## every key >= 32 bytes and no two alike (the local secrets, or STACK=<stack name>'s)
	@$(PY) -m localapi check-keys $(if $(STACK),--stack $(STACK))

rotate-keys: $(STAMP) ## rotate the ES256 signing keys: the local ones, or STACK=<stack name>'s (Secrets Manager rotation)
	@$(PY) -m localapi rotate-keys $(if $(STACK),--stack $(STACK))

put-event: $(STAMP) ## make put-event EVENT=events/revoke_stream_tokens.json (to the running make run)
	@$(PY) -m localapi put-event $(EVENT) --api http://$(HOST):$(PORT)

invoke: $(STAMP) ## make invoke FN=IssueTokenFunction EVENT=events/issue_token.json
	$(PY) -m localapi invoke $(FN) -e $(EVENT)

build: $(SAM)
	SAM_CLI_TELEMETRY=0 $(SAM) build

deploy: build
	SAM_CLI_TELEMETRY=0 $(SAM) deploy --guided

clean:
	rm -rf $(VENV) .build .aws-sam .pytest_cache .mypy_cache .ruff_cache
