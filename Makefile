# The two commands of the README:
#   make lab    opens the course in JupyterLab, on the embedded broker
#   make test   runs the whole test suite
# and, for authors and translators:
#   make notebooks  updates the catalogs, then builds notebooks/<lang>/ from notebooks/en/
# Each creates a virtual environment in .venv and installs the project into it first.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The broker the lab uses; `make lab TRANSPORT_URL=rabbit://user:pass@host:5672/` for a real one.
TRANSPORT_URL ?= embedded://
# The notebook JupyterLab opens first; `make lab LESSON=notebooks/fr/00-welcome.ipynb` in French.
LESSON ?= notebooks/en/00-welcome.ipynb
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test bench lint notebooks

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-lab: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-lab

lab: $(VENV)/.installed-lab
	COURSE_TRANSPORT_URL='$(TRANSPORT_URL)' $(BIN)/jupyter lab $(ROOT_FLAG) '$(LESSON)'

test: $(VENV)/.installed-test
	$(BIN)/python -m ruff check course tests
	$(BIN)/python -m pytest

bench: $(VENV)/.installed-lab
	$(BIN)/python -m course.bench

notebooks: $(VENV)/.installed-lab
	$(BIN)/python -m course.build
