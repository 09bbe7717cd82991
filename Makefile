# Developer shortcuts. The README's two commands need none of these.
PYTHON ?= .venv/bin/python

.PHONY: test lint typecheck bench

test:
	.ci/run

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

typecheck:
	$(PYTHON) scripts/typecheck.py

bench:
	$(PYTHON) -m bench
