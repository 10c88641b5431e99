# mmvis_clip: set-up, tests and the synthetic-data demo.
#   make demo   - install everything, make the synthetic dataset, train and
#                 evaluate the default model on it, show the result
#   make test   - install everything and run the test suite
# Both create a virtual environment in $(VENV) when there is none.
# GPU users: make install TORCH="torch==2.13.0 --index-url <your CUDA wheel index>"
# (or install torch yourself first into the environment, see README).

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.mmvis_clip-installed

DATA ?= data/synthetic_vis
DEMO_CONFIG ?= configs/stc/stc_r18_fpn_1xb4-8e_synthetic.py
DEMO_WORK_DIR ?= work_dirs/demo/$(basename $(notdir $(DEMO_CONFIG)))
PYTEST_ARGS ?=

.PHONY: install test demo data lint clean-demo

install: $(STAMP)

$(STAMP): requirements.txt requirements/build.txt requirements/tests.txt setup.cfg setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install $(TORCH)
	$(PIP) install -r requirements/build.txt
	@# mmcv's C++ ops are compiled against the installed torch (10-20 min on
	@# 2 cores the first time; pip caches the wheel afterwards).
	$(PIP) install --no-build-isolation mmcv==2.1.0
	$(PIP) install -r requirements.txt -r requirements/tests.txt
	$(PIP) install --no-build-isolation --no-deps -e .
	$(PY) -c "import mmvis_clip, mmcv.ops; print('mmvis_clip', mmvis_clip.__version__, 'ready')"
	@touch $@

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

$(DATA)/annotations/valid.json: | install
	$(PY) tools/misc/make_synthetic_vis.py --out $(DATA) --seed 0

data: $(DATA)/annotations/valid.json

demo: install data
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_WORK_DIR)
	$(PY) tools/test.py $(DEMO_CONFIG) "$$(cat $(DEMO_WORK_DIR)/last_checkpoint)" \
		--work-dir $(DEMO_WORK_DIR) --out $(DEMO_WORK_DIR)/results
	$(PY) tools/analysis/eval_vis.py --gt $(DATA)/annotations/valid.json \
		--results $(DEMO_WORK_DIR)/results/results.json \
		--out $(DEMO_WORK_DIR)/metrics.json
	@echo "checkpoint: $$(cat $(DEMO_WORK_DIR)/last_checkpoint)"
	@echo "results:    $(DEMO_WORK_DIR)/results/results.json (+ submission.zip)"
	@echo "metrics:    $(DEMO_WORK_DIR)/metrics.json"
	@echo "training log: $(DEMO_WORK_DIR)/<timestamp>/<timestamp>.log"

lint: install
	$(PY) -m flake8 mmvis_clip tools tests configs
	$(PY) -m isort --check-only --diff mmvis_clip tools tests

clean-demo:
	rm -rf $(DEMO_WORK_DIR)
