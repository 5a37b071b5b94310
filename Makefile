# The two commands of README.md: `make demo` and `make test`.
#   make test                                        SQLite only
#   make test DATABASES="sqlite postgresql mariadb"  also the server databases
#   make test PYTHON=python3.13 DJANGO="django>=6,<7" VENV=.venv-313
PYTHON ?= python3
VENV ?= .venv
DATABASES ?= sqlite
DJANGO ?= django>=5.2,<7
PYTEST_ARGS ?=

BIN := $(VENV)/bin
comma := ,
EXTRAS := test$(if $(findstring postgresql,$(DATABASES)),$(comma)postgresql)$(if $(findstring mariadb,$(DATABASES)),$(comma)mariadb)
# The stamp names what was installed, so a change of extras or Django reinstalls.
STAMP := $(VENV)/.installed-$(shell printf '%s' '$(EXTRAS) $(DJANGO)' | cksum | cut -d' ' -f1)

.PHONY: test lint pytest install bench clean

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

# Every database runs the suite twice: with revy's own history models, then
# with the swapped ones of tests/swapped (REVY_TEST_SWAPPED=1).
pytest: $(STAMP)
	@for db in $(DATABASES); do for swapped in 0 1; do \
	  echo "== pytest on $$db, swapped history models: $$swapped"; \
	  REVY_TEST_DATABASE=$$db REVY_TEST_SWAPPED=$$swapped \
	    $(BIN)/pytest $(PYTEST_ARGS) || exit 1; \
	done; done

# make bench [DB=sqlite|postgresql|mariadb] [QUICK=1]: see benchmarks/README.md
DB ?= sqlite
bench: $(STAMP)
	$(BIN)/python -m benchmarks.context_depth

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache dist build
