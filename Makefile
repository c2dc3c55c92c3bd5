# Two entry points: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: demo test test-fast lint bench clean

$(BIN)/auditor: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/auditor

venv: $(BIN)/auditor

demo: $(BIN)/auditor
	@for sop in general-inbound-call complaint-handling service-request bank-phone-service; do \
	  $(BIN)/auditor audit corpora/en/$$sop.jsonl corpora/zh-Hans/$$sop.jsonl corpora/zh-Hant/$$sop.jsonl \
	    --sop $$sop --out out/demo/$$sop || exit $$?; \
	done
	@echo "Reports: out/demo/*/report.html"

test: $(BIN)/auditor
	$(BIN)/ruff check .
	$(BIN)/mypy auditor
	$(BIN)/pytest -q -m "slow or not slow"

test-fast: $(BIN)/auditor
	$(BIN)/pytest -q -m "not slow and not process"

clean:
	rm -rf out .pytest_cache .mypy_cache
