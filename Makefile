# The two commands a fresh machine needs: `make run` and `make test`.
# Everything else (virtual environment, packages, models, Debian packages) they do themselves.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

.PHONY: run test venv lint bench eval clean prod loadtest reliability fuzz

run: $(STAMP)
	@scripts/run.sh

test: $(STAMP)
	@scripts/test.sh

# The production profile and its checks (docs/operations.md).
prod: $(STAMP)
	@scripts/prod.sh

loadtest: $(STAMP)
	$(PY) -m loadtest portal

reliability: $(STAMP)
	$(PY) -m pytest -m reliability -s tests/reliability

fuzz: $(STAMP)
	FUZZ_EXAMPLES=full $(PY) -m pytest -m fuzz tests/fuzz

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@scripts/bootstrap.sh
	@touch $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

eval: $(STAMP)
	$(PY) -m guidance eval --risk ../shared/eval/dev_risk.jsonl \
		--vignettes ../shared/eval/dev_vignettes.jsonl --questions ../shared/eval/dev_questions.jsonl

bench: $(STAMP)
	$(PY) -m guidance bench

clean:
	rm -rf var models .pytest_cache .ruff_cache
