# The commands of README.md: make test, make demo, make docs, make dist, make bake.
#   make test                                        SQLite only
#   make test DATABASES="sqlite postgresql mariadb"  also the server databases
#   make test PYTHON=python3.13 DJANGO="django>=6,<7" VENV=.venv-313
#   make pytest DATABASES=postgresql SWAPPED=0 PYTEST_ARGS="tests/test_m2m.py -x"
PYTHON ?= python3
VENV ?= .venv
DATABASES ?= sqlite
DJANGO ?= django>=5.2,<7
PYTEST_ARGS ?=
# The history models each pytest run uses: 0 revy's own, 1 swapped ones.
SWAPPED ?= 0 1

BIN := $(VENV)/bin
comma := ,
EXTRAS := test$(if $(findstring postgresql,$(DATABASES)),$(comma)postgresql)$(if $(findstring mariadb,$(DATABASES)),$(comma)mariadb)
# The stamp names what was installed, so a change of extras or Django reinstalls.
STAMP := $(VENV)/.installed-$(shell printf '%s' '$(EXTRAS) $(DJANGO)' | cksum | cut -d' ' -f1)

.PHONY: test lint pytest install bench bench-compare bench-scale clean architecture screenshots dist docs docs-serve compat

test: lint pytest

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]" "$(DJANGO)"
	rm -f $(VENV)/.installed-* && touch $@

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# Redraw the picture of the modules in docs/architecture.md from the imports.
architecture: $(STAMP)
	$(BIN)/python -m scripts.architecture

# axe-core, which the browser tests (tests/test_admin_browser.py, SQLite
# only) inject into each page, from npm into .axe/ (git-ignored). Without npm,
# Chromium or chromedriver those tests are skipped, unless
# REVY_REQUIRE_BROWSER=1 (.ci/run) makes them fail.
AXE := .axe/node_modules/axe-core/axe.min.js
$(AXE):
	@if command -v npm >/dev/null 2>&1; then \
	  npm install --silent --no-audit --no-fund --prefix .axe "axe-core@4"; \
	else echo "npm not found: the browser tests will be skipped"; fi

# Every database runs the suite twice: with revy's own history models, then
# with the swapped ones of tests/swapped (REVY_TEST_SWAPPED=1). One of them:
# make pytest SWAPPED=0; one file: make pytest PYTEST_ARGS=tests/test_m2m.py
pytest: $(STAMP) | $(AXE)
	@for db in $(DATABASES); do for swapped in $(SWAPPED); do \
	  echo "== pytest on $$db, swapped history models: $$swapped"; \
	  REVY_TEST_DATABASE=$$db REVY_TEST_SWAPPED=$$swapped \
	    $(BIN)/pytest $(PYTEST_ARGS) || exit 1; \
	done; done

# make compat [DB=sqlite|postgresql|mariadb]: Django's own test suite for the
# apps revy's capture touches, without revy and with revy recording outside
# contexts; a failure new with revy and not in scripts/compat_expected.txt, or
# a test kept from running, fails (scripts/compat.py). tblib lets Django's
# parallel runner report failures.
compat: $(STAMP)
	$(BIN)/python -m pip install --quiet tblib $(if $(BENCH_DRIVER),"$(BENCH_DRIVER)")
	$(BIN)/python -m scripts.compat --database $(DB)

# make bench [DB=sqlite|postgresql|mariadb] [QUICK=1] [BASELINE=1] [ONLY=..] [LIBRARIES=..]: see benchmarks/README.md
# make bench GROWTH=1 [GROWTH_MAX=7] [PARTITIONED=1]: also the growth benchmark (benchmarks/growth.py; PARTITIONED=1: on partitioned PostgreSQL history); QUICK=1 runs its small sizes
DB ?= sqlite
BENCH_DRIVER := $(if $(filter postgresql,$(DB)),psycopg[binary]>=3.1)$(if $(filter mariadb,$(DB)),mysqlclient>=2.2.1)
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt $(if $(BENCH_DRIVER),"$(BENCH_DRIVER)")
	$(BIN)/python -m benchmarks.context_depth
	DB=$(DB) $(BIN)/python -m benchmarks.proposals
	DB=$(DB) QUICK=$(QUICK) BASELINE=$(BASELINE) ONLY=$(ONLY) LIBRARIES=$(LIBRARIES) $(BIN)/python -m benchmarks
	$(if $(or $(GROWTH),$(QUICK)),DB=$(DB) QUICK=$(QUICK) GROWTH_MAX=$(GROWTH_MAX) PARTITIONED=$(PARTITIONED) $(BIN)/python -m benchmarks.growth)

# make bench-scale [DATABASES=..] [SIZES="10000 100000 1000000"] [PATHS=..] [RESULTS=file.json]:
# each bulk write at growing row counts, time and peak memory (benchmarks/scale.py).
bench-scale: $(STAMP)
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt $(if $(BENCH_DRIVER),"$(BENCH_DRIVER)")
	DATABASES="$(DATABASES)" SIZES="$(SIZES)" PATHS="$(PATHS)" RESULTS="$(RESULTS)" $(BIN)/python -m benchmarks.scale

# make bench-compare BEFORE=<commit> [DB=..] [ROUNDS=5] [ONLY=..] [QUICK=1]:
# revy at BEFORE against this checkout, in turns (benchmarks/compare.py).
ROUNDS ?= 5
bench-compare: $(STAMP)
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt $(if $(BENCH_DRIVER),"$(BENCH_DRIVER)")
	DB=$(DB) ROUNDS=$(ROUNDS) ONLY=$(ONLY) QUICK=$(QUICK) $(BIN)/python -m benchmarks.compare $(BEFORE)

# The screenshots of docs/admin.md, taken by the browser tests.
screenshots: $(STAMP) | $(AXE)
	REVY_TEST_DATABASE=sqlite REVY_REQUIRE_BROWSER=1 REVY_SCREENSHOTS=docs/admin \
	  $(BIN)/pytest -q tests/test_admin_browser.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache dist build site .axe

# make docs: docs/ as a static site in site/ (MkDocs with Material and
# mkdocstrings, decision 0013), strict: a broken link or anchor, a page left
# out of the navigation or an API name that does not exist fails the build.
# make docs-serve: the same, served with live reload on 127.0.0.1:8001.
DOCS_STAMP := $(VENV)/.docs-installed
$(DOCS_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $@
docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict
docs-serve: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --strict --dev-addr 127.0.0.1:8001

# make dist: the sdist and the wheel in dist/, checked by twine; then the
# wheel alone, installed into a fresh virtual environment (build/venv-dist),
# runs the seed README's examples (scripts/seed_readme) and refuses a revy
# imported from anywhere but that environment. dist/ is what gets uploaded.
DIST_VENV := build/venv-dist
dist: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dist]"
	rm -rf dist $(DIST_VENV)
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*
	$(PYTHON) -m venv $(DIST_VENV)
	$(DIST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(DIST_VENV)/bin/python -m pip install --quiet dist/*.whl
	cd scripts && ../$(DIST_VENV)/bin/python -m seed_readme --installed
	@echo "dist/ holds:" && ls dist

# make bake [OUTPUT=..] [ARGS="--no-input project_name='Acme Ledger'"]: bake
# the starter project from this working copy, beside it by default. Only the
# template's files are copied, as git lists them (scripts/bake.py), and the
# project's revy is this checkout.
OUTPUT ?= ..
.PHONY: bake
bake: $(STAMP)
	$(BIN)/python -m scripts.bake --output-dir $(OUTPUT) $(ARGS)

# make demo [SERVE=0]: bake the starter project with its defaults into demo/
# (git-ignored) as make bake does, install it with this checkout's revy in
# demo/.venv, migrate its SQLite database, run the examples' scenario and
# print the history they recorded; then serve it on 127.0.0.1:8000 until
# Ctrl-C. SERVE=0 stops after the table (for scripts and CI). The bake starts
# afresh each time.
SERVE ?= 1
DEMO_DIR ?= demo
DEMO_PROJECT := $(DEMO_DIR)/my_project
DEMO_BIN := $(DEMO_DIR)/.venv/bin
.PHONY: demo
demo:
	test -x $(DEMO_BIN)/python || $(PYTHON) -m venv $(DEMO_DIR)/.venv
	$(DEMO_BIN)/python -m pip install --quiet --upgrade pip "cookiecutter>=2.6"
	rm -rf $(DEMO_PROJECT)
	$(DEMO_BIN)/python -m scripts.bake --no-input --output-dir $(DEMO_DIR)
	$(DEMO_BIN)/python -m pip install --quiet -e $(DEMO_PROJECT)
	cp $(DEMO_PROJECT)/.env.example $(DEMO_PROJECT)/.env
	cd $(DEMO_PROJECT) && ../.venv/bin/python manage.py migrate --noinput -v 0
	cd $(DEMO_PROJECT) && ../.venv/bin/python manage.py demo
	@echo "Next, to work on the project with its own .venv: cd $(DEMO_PROJECT) && make run   (then: make test)"
	@if [ "$(SERVE)" != 0 ]; then \
	  echo "Serving http://127.0.0.1:8000/ (sign in with the admin login above); Ctrl-C stops."; \
	  cd $(DEMO_PROJECT) && ../.venv/bin/python manage.py runserver 127.0.0.1:8000; \
	fi
