# `make book` sets everything up (a virtualenv in .venv from requirements.txt) and builds
# the HTML book into _build/html; `make test` runs every test, notebooks included.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: book test execute clean gpu lower-bounds

book: $(VENV)/.installed
	$(VENV)/bin/jupyter-book build . --warningiserror --keep-going

test: book
	$(PY) -m pytest

# Re-run chapters and save their outputs (the state CI checks): make execute NB=chapters/01_image_pretraining.ipynb
execute: $(VENV)/.installed
	$(PY) scripts/execute_notebooks.py $(or $(NB),chapters/*.ipynb)

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

clean:
	rm -rf _build

# Every chapter's GPU preset on CUDA, into _build/gpu; writes data/results/gpu_run.json.
# AMP=fp16 forces the float16 + gradient-scaler path of Colab's T4.
gpu: $(VENV)/.installed
	$(PY) scripts/gpu_run.py $(if $(AMP),--amp $(AMP) --results data/results/gpu_run_$(AMP).json)

# The oldest supported transformers/tokenizers/numpy (requirements-lower.txt), in a
# separate environment, against the tests that use them.
lower-bounds:
	$(PYTHON) -m venv .venv-lower
	.venv-lower/bin/python -m pip install --quiet -r requirements-lower.txt
	.venv-lower/bin/python -m pip install --quiet --no-deps -e .
	.venv-lower/bin/python -m pytest -p no:cacheprovider -o addopts="" -q tests/test_pretrained_bert.py \
	    tests/test_pretrained_gpt2.py tests/test_wordpiece.py tests/test_bpe.py tests/test_gpt.py tests/test_bert.py \
	    tests/test_finetune_bert.py tests/test_bertology.py tests/test_probing.py tests/test_checkpoints.py
