# emovae: `make demo` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
KERAS_VENV ?= .venv-keras
# the training set, read in place (grekowj/musgenvae, CC BY-NC); override: make test EMOVAE_DATA=/path/to/dataset
EMOVAE_DATA ?= $(abspath ../shared/data/musgenvae/dataset)
export EMOVAE_DATA

.PHONY: install demo test lint system-deps report reproduce bench clean

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

# The gate: lint and format (ruff), the layering contract (import-linter), then the tests. The C++
# GRU extension must build here (EMOVAE_REQUIRE_EXT=1): a silent fall-back would hide a regression.
test: install system-deps
	$(BIN)/ruff check emovae tests benchmarks
	$(BIN)/ruff format --check emovae tests benchmarks
	$(BIN)/lint-imports
	EMOVAE_REQUIRE_EXT=1 $(BIN)/pytest -q

lint: install
	$(BIN)/ruff check --fix emovae tests benchmarks
	$(BIN)/ruff format emovae tests benchmarks

# Debian packages for audio (FluidSynth + a General MIDI soundfont) and the browser test
# (Chromium + ChromeDriver); optional: without them WAV falls back to NumPy and the browser test skips.
system-deps:
	@command -v fluidsynth >/dev/null && [ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] && command -v chromium >/dev/null \
	  && command -v chromedriver >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -qq fluidsynth fluid-soundfont-gm chromium chromium-driver >/dev/null; } \
	  || echo "emovae: warning: could not install fluidsynth/chromium (needs root); WAV uses NumPy, the browser test skips"

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
