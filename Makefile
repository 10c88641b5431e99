# mmvis_clip: set-up, tests and the synthetic-data demo.
#   make demo   - install everything, make the synthetic dataset, train and
#                 evaluate the default model on it, show the result
#   make test   - install everything and run the test suite
# Both create a virtual environment in $(VENV) when there is none.
# GPU users: make install CUDA=cu126 TORCH_CUDA_ARCH_LIST="8.0;9.0"
# (the CUDA build of torch from the PyTorch wheel index, mmcv's CUDA ops
# compiled for those GPU architectures; see README, "GPU").

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
CUDA ?=
ifeq ($(CUDA),)
TORCH ?= torch==2.13.0
else
TORCH ?= torch==2.13.0 --index-url https://download.pytorch.org/whl/$(CUDA)
endif
STAMP := $(VENV)/.mmvis_clip-installed

DATA ?= data/synthetic_vis
DEMO_CONFIG ?= configs/stc/stc_r18_fpn_1xb4-8e_synthetic.py
DEMO_WORK_DIR ?= work_dirs/demo/$(basename $(notdir $(DEMO_CONFIG)))
PYTEST_ARGS ?=

.PHONY: install test test-gpu demo data lint clean-demo

install: $(STAMP)

$(STAMP): requirements.txt requirements/build.txt requirements/tests.txt setup.cfg setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install $(TORCH)
	@# an installed +cpu torch satisfies torch==2.13.0: say so, not later
	@if [ -n "$(CUDA)" ] && ! $(PY) -c "import sys, torch; sys.exit(not torch.version.cuda)"; then \
		echo "make install CUDA=$(CUDA): the installed torch is a CPU build (pip kept it); run '$(PIP) uninstall -y torch' and make install again" >&2; exit 1; fi
	$(PIP) install -r requirements/build.txt
	@# mmcv's C++ ops are compiled against the installed torch (10-20 min on
	@# 2 cores the first time; pip caches the CPU wheel afterwards). With a
	@# CUDA torch its CUDA ops are compiled too (FORCE_CUDA=1, never from
	@# pip's cache, whose key ignores the torch build), for the GPU
	@# architectures of TORCH_CUDA_ARCH_LIST (required without a visible GPU).
	@if $(PY) -c "import sys, torch; sys.exit(not torch.version.cuda)"; then \
		if [ -z "$$TORCH_CUDA_ARCH_LIST" ] && ! $(PY) -c "import sys, torch; sys.exit(not torch.cuda.is_available())"; then \
			echo "no GPU visible: set TORCH_CUDA_ARCH_LIST to your GPUs' compute capabilities, e.g. TORCH_CUDA_ARCH_LIST='8.0;9.0'" >&2; exit 1; fi; \
		FORCE_CUDA=1 MMCV_WITH_OPS=1 $(PIP) install --no-cache-dir --force-reinstall --no-deps --no-build-isolation mmcv==2.1.0; \
	else \
		$(PIP) install --no-build-isolation mmcv==2.1.0; \
	fi
	$(PIP) install -r requirements.txt -r requirements/tests.txt
	$(PIP) install --no-build-isolation --no-deps -e .
	$(PY) -c "from mmvis_clip.utils.stack_check import check_install; check_install(); import mmvis_clip; print('mmvis_clip', mmvis_clip.__version__, 'ready')"
	@touch $@

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

# The GPU checks (tests/gpu): skipped without CUDA.
test-gpu: install
	$(PY) -m pytest tests/gpu -rs $(PYTEST_ARGS)

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
	$(PY) -m isort --check-only --diff --recursive mmvis_clip tools tests

clean-demo:
	rm -rf $(DEMO_WORK_DIR)
