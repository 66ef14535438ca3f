# emovae: `make demo` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
KERAS_VENV ?= .venv-keras
# The training set (Grekow and Dimitrova-Grekow 2021; labels CC BY-NC): $EMOVAE_DATA if set, else the
# authors' files beside the clone (../shared), else the set rebuilt from music21's corpus into the user
# cache by `emovae data build` (no download). Override: make test EMOVAE_DATA=/path/to/dataset
SHARED_DATA := $(abspath ../shared/data/musgenvae/dataset)
REBUILT_DATA := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/emovae/musgenvae
EMOVAE_DATA ?= $(if $(wildcard $(SHARED_DATA)/e1),$(SHARED_DATA),$(REBUILT_DATA))
export EMOVAE_DATA

.PHONY: install data demo test lint system-deps axe report serve screenshot reproduce sweep bench bench-gpu bench-generate bench-web clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[web,sweep,test]'
	touch $@

install: $(BIN)/.installed

# The training set rebuilt from music21's corpus, every hash checked (about a minute once; cached). The
# tests compare it with the authors' files where those are present.
data: install
	$(BIN)/emovae data build --quiet "$(REBUILT_DATA)"

# The main job, with the bundled models (no training): one melody per emotion as MIDI + score (SVG)
# + audio (WAV), a 16-bar melody moving happy -> sad -> relaxed, where a training melody sits on the
# plane, the plane on the training data, and Table 3 of 20 generated melodies per emotion.
demo: install data
	rm -rf demo
	$(BIN)/emovae generate --out demo/melodies -n 1 --seed 0 --format midi,svg,wav --plot
	$(BIN)/emovae generate --out demo/journey --path happy,sad,relaxed --bars 16 --format midi,svg,wav
	$(BIN)/emovae encode "$(EMOVAE_DATA)/e3/bwv10.7.mxl.mid" "$(EMOVAE_DATA)/e1/bwv1.6.mxl.mid"
	$(BIN)/emovae evaluate --data "$(EMOVAE_DATA)" --out demo/evaluation
	$(BIN)/emovae generate --out demo/generated -n 20 --seed 0
	$(BIN)/emovae metrics demo/generated "$(EMOVAE_DATA)" --name "emovae CVAE-Plane" --name "training set"
	@echo "demo: demo/melodies/e1..e4 (MIDI, SVG, WAV) and plane.png, demo/journey (16 bars),"
	@echo "      demo/evaluation (latent planes), demo/generated (Table 3's melodies). Next: emovae serve"

# Evaluation beyond the paper (emotion control, every point a melody, copies) of the bundled models
# beside the authors' published sets: report/report.md.
report: install data
	$(BIN)/emovae report --data "$(EMOVAE_DATA)" --out report

# The emotion-plane recipe sweep (about 100 runs: meant for a GPU); resumable, same command again.
sweep: install data
	$(BIN)/emovae sweep docs/sweeps/recipes.toml --data "$(EMOVAE_DATA)" --out sweeps/recipes

# The emotion plane in the browser: http://127.0.0.1:8000/
serve: install data
	$(BIN)/emovae serve --data "$(EMOVAE_DATA)"

# The browser test, writing the README's screenshot.
screenshot: install system-deps
	EMOVAE_SCREENSHOT=docs/figures/web_plane.png EMOVAE_SCREENSHOT_DIR=docs/figures $(BIN)/pytest -q tests/test_browser.py

# The gate: lint and format (ruff), the layering contract (import-linter), then the tests. The C++
# GRU extension must build here (EMOVAE_REQUIRE_EXT=1): a silent fall-back would hide a regression.
test: install system-deps axe data
	$(BIN)/ruff check emovae tests benchmarks
	$(BIN)/ruff format --check emovae tests benchmarks
	$(BIN)/lint-imports
	EMOVAE_REQUIRE_EXT=1 $(BIN)/pytest -q

# axe-core (npm) for the browser test's accessibility scan, injected into the page from this file
# (nothing fetched at test time); without npm the scan skips.
AXE := $(VENV)/node/node_modules/axe-core/axe.min.js
axe: install
	@[ -f $(AXE) ] || npm install --prefix $(VENV)/node --no-save --no-audit --no-fund --silent axe-core@4.14.1 \
	  || echo "emovae: warning: could not install axe-core (npm); the accessibility scan skips"

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
reproduce: install data
	$(BIN)/emovae reproduce --data "$(EMOVAE_DATA)" --out reproduction

$(KERAS_VENV)/.installed:
	$(PYTHON) -m venv $(KERAS_VENV)
	$(KERAS_VENV)/bin/pip install -q tensorflow-cpu==2.21.0 keras==3.15.1
	touch $@

# Training speed: emovae against the authors' Keras model, side by side on this machine.
bench: install data $(KERAS_VENV)/.installed
	$(BIN)/python benchmarks/train_speed.py --keras-python $(KERAS_VENV)/bin/python

# Training on a GPU: one run (CUDA graph + cuDNN), and 32 runs as one batched model.
bench-gpu: install data
	$(BIN)/python benchmarks/train_gpu.py --data "$(EMOVAE_DATA)"

# Generation and web latency (emovae alone).
bench-generate: install
	$(BIN)/python benchmarks/generate_speed.py
bench-web: install system-deps data
	$(BIN)/python benchmarks/web_latency.py

clean:
	rm -rf demo report reproduction .pytest_cache
