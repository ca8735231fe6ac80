# Two commands on a fresh machine: `make serve` (the atlas on http://127.0.0.1:8000)
# and `make test` (the whole suite). Both install what they need first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
# The CPU build of torch comes first, so nothing later pulls the CUDA build.
# Machines that reach only PyPI set nothing; GitHub's runners set the CPU index.
TORCH := torch==2.13.0
TORCH_INDEX ?=
CHROMIUM := $(or $(MLATLAS_CHROMIUM),/usr/bin/chromium)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
VENDOR := docs/assets/vendor

# Commands run from the venv, so `mlatlas` in a docs shell block is this checkout's.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help setup vendor chromium serve build build-zensical test test-fast lock clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

# Installs exactly what requirements.lock pins (what CI tested), then this checkout
# without resolving anything again. `make lock` rewrites the lock from the newest
# releases within pyproject.toml's bounds.
$(BIN)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install $(TORCH) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/pip install -r requirements.lock
	$(BIN)/pip install --no-deps -e .
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# mermaid, KaTeX, model-viewer and tablesort are served from the site itself, copied out of node_modules.
# model-viewer (an ES module with three.js inside) is imported by docs/javascripts/model-viewer.js
# only on pages that show a 3D model.
$(VENDOR)/.stamp: node_modules/.package-lock.json
	rm -rf $(VENDOR)
	mkdir -p $(VENDOR)/mermaid $(VENDOR)/katex $(VENDOR)/model-viewer
	cp node_modules/mermaid/dist/mermaid.min.js node_modules/mermaid/LICENSE $(VENDOR)/mermaid/
	cp -r node_modules/katex/dist/katex.min.js node_modules/katex/dist/katex.min.css \
	      node_modules/katex/dist/fonts node_modules/katex/dist/contrib node_modules/katex/LICENSE $(VENDOR)/katex/
	cp node_modules/@google/model-viewer/dist/model-viewer.min.js node_modules/@google/model-viewer/LICENSE $(VENDOR)/model-viewer/
	cp node_modules/three/LICENSE $(VENDOR)/model-viewer/LICENSE.three
	mkdir -p $(VENDOR)/tablesort
	cp node_modules/tablesort/dist/tablesort.min.js node_modules/tablesort/dist/sorts/tablesort.number.min.js \
	   node_modules/tablesort/LICENCE $(VENDOR)/tablesort/
	touch $@

setup: $(BIN)/.installed $(VENDOR)/.stamp  ## install Python and npm dependencies

vendor: $(VENDOR)/.stamp

chromium:  ## install Debian chromium for the browser tests, if missing
	@[ -x "$(CHROMIUM)" ] || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }

# Rendered from the committed execution store (store/): only a block whose entry is
# missing or stale runs. --dirty rebuilds only the page that was saved (MkDocs warns
# about a dirty build, so serve is not --strict; `make build` and the suite are).
serve: setup chromium  ## build and serve the atlas on http://127.0.0.1:8000
	$(BIN)/mkdocs serve --dirty -a 127.0.0.1:8000

build: setup chromium  ## build the static site into site/
	$(BIN)/mkdocs build --strict

build-zensical: setup  ## build the same site with Zensical, from the same mkdocs.yml, into site-zensical/
	MLATLAS_SITE_DIR=site-zensical $(BIN)/zensical build --strict -f mkdocs.yml

test: setup chromium  ## run the whole test suite (every block once, both builds, the browser checks)
	$(BIN)/python -m pytest

test-fast: setup  ## the inner loop: units, and only the blocks whose stored output is stale; no build, no browser
	MLATLAS_REUSE_STORE=1 $(BIN)/python -m pytest -n auto --dist loadgroup -m "not site and not browser and not install"

# The newest releases within pyproject.toml's bounds, in a throwaway venv, pinned
# (--all: setuptools and wheel too, which the offline wheel build needs).
lock:  ## rewrite requirements.lock from the newest releases within the bounds
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --upgrade pip
	.venv-lock/bin/pip install $(TORCH) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	.venv-lock/bin/pip install -e ".[docs,test]"
	{ echo "# pip install -r requirements.lock, after $(TORCH); written by \`make lock\`"; \
	  .venv-lock/bin/pip freeze --all --exclude-editable | grep -v -e '^torch==' -e '^pip=='; } > requirements.lock
	rm -rf .venv-lock

clean:  ## remove build outputs (keeps the venv and node_modules)
	rm -rf site site-zensical $(VENDOR) .pytest_cache
