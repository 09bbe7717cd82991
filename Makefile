# Developer shortcuts. The README's two commands need none of these.
PYTHON ?= .venv/bin/python
TYPECHECK_TREE := build/typecheck

.PHONY: test lint typecheck bench

test:
	.ci/run

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

# mypy cannot follow setuptools' editable finder for the package-dir mapping, so it checks a
# tree of symlinks laid out as the installed package.
typecheck:
	rm -rf $(TYPECHECK_TREE) && mkdir -p $(TYPECHECK_TREE)/firebell
	cp -rs $(CURDIR)/firebell/. $(TYPECHECK_TREE)/firebell/
	ln -s $(CURDIR)/core $(TYPECHECK_TREE)/firebell/core
	ln -s $(CURDIR)/plugins $(TYPECHECK_TREE)/firebell/plugins
	ln -s $(CURDIR)/adapters $(TYPECHECK_TREE)/firebell/adapters
	cd $(TYPECHECK_TREE) && $(CURDIR)/$(PYTHON) -m mypy --config-file $(CURDIR)/pyproject.toml -p firebell

bench:
	$(PYTHON) -m bench
