# emovae: `make demo` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
KERAS_VENV ?= .venv-keras
# the training set, read in place (grekowj/musgenvae, CC BY-NC); override: make test EMOVAE_DATA=/path/to/dataset
EMOVAE_DATA ?= $(abspath ../shared/data/musgenvae/dataset)
export EMOVAE_DATA

.PHONY: install demo test reproduce bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[web,test]'
	touch $@

install: $(BIN)/.installed

# The main job: melodies of all four emotions from the bundled CVAE-EmoReg, its emotion plane
# on the training data, and Table 3 of what it generated beside the training set.
demo: install
	$(BIN)/emovae generate --out demo/generated -n 20 --seed 0
	$(BIN)/emovae evaluate --data "$(EMOVAE_DATA)" --out demo/evaluation
	$(BIN)/emovae metrics demo/generated "$(EMOVAE_DATA)" --name "emovae CVAE-EmoReg" --name "training set"
	@echo "demo: MIDI files in demo/generated/e1..e4, latent-plane pictures in demo/evaluation"

test: install
	$(BIN)/pytest -q

# The paper end to end: trains CVAE-Base and CVAE-EmoReg (700 epochs each; a GPU is used when present).
reproduce: install
	$(BIN)/emovae reproduce --data "$(EMOVAE_DATA)" --out reproduction

$(KERAS_VENV)/.installed:
	$(PYTHON) -m venv $(KERAS_VENV)
	$(KERAS_VENV)/bin/pip install -q tensorflow-cpu==2.21.0 keras==3.15.1
	touch $@

# Training speed: emovae against the authors' Keras model, side by side on this machine.
bench: install $(KERAS_VENV)/.installed
	$(BIN)/python benchmarks/train_speed.py --keras-python $(KERAS_VENV)/bin/python

clean:
	rm -rf demo reproduction .pytest_cache
