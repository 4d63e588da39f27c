# medcity: `make demo` serves a demo city on SQLite; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The settings' own default database, so that every `.venv/bin/medcity` command run here (`token`, `users add`)
# works on the demo city.
export MEDCITY_DATABASE_URL ?= sqlite:///$(CURDIR)/var/medcity.db

.PHONY: install demo test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/medcity db upgrade
	@# Seed once: the marker is written only after a complete, successful seed.
	@test -f var/medcity.seeded || ($(BIN)/medcity demo seed --scale small && touch var/medcity.seeded)
	@# Idempotent: moves the booking horizon on to today + the region's publishing horizon.
	$(BIN)/medcity scheduling publish-standard
	$(BIN)/medcity demo day
	$(BIN)/medcity users demo
	$(BIN)/medcity serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
