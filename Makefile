# mmvis_clip: set-up, tests and the synthetic-data demo.
#   make demo   - install everything, make the synthetic dataset, train and
#                 evaluate the default model on it, show the result
#   make test   - install everything and run the test suite
# Both create a virtual environment in $(VENV) when there is none.
# GPU users: make install CUDA=cu130 (the CUDA build of torch, mmcv's CUDA
# ops compiled with an nvcc of torch's CUDA; see docs/installation.md, "GPU").
#   make check-cuda-build - compile mmcv's CUDA ops for the GPU recipe in a
#                 throw-away environment, no GPU needed (86 min on 2 shared cores)

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
TORCH_VERSION ?= 2.13.0
CUDA ?=
# torch from PyPI plus PyTorch's wheel index of the build asked for: pip takes
# the highest version, and the index's 2.13.0+cpu / +cu130 outranks PyPI's
# 2.13.0 (a CUDA 13.0 build on Linux x86_64). Where that index cannot be
# reached, torch comes from PyPI alone; see docs/installation.md.
ifeq ($(CUDA),)
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
else
TORCH_INDEX ?= https://download.pytorch.org/whl/$(CUDA)
endif
# $(call install_torch,PYTHON,INDEX): torch==$(TORCH_VERSION) from PyPI and
# INDEX; where INDEX cannot be reached (a firewall, an offline mirror), from
# PyPI alone, said once, instead of pip retrying INDEX for every package
define install_torch
@if $(1) -c "import urllib.request as u; u.urlopen('$(2)/torch/', timeout=15)" 2>/dev/null; then \
	echo "$(1) -m pip install torch==$(TORCH_VERSION) --extra-index-url $(2)"; \
	$(1) -m pip install torch==$(TORCH_VERSION) --extra-index-url $(2); \
else \
	echo "make: $(2) cannot be reached: torch==$(TORCH_VERSION) from PyPI (on Linux x86_64 its CUDA 13.0 build, 2.7 GB of wheels)"; \
	$(1) -m pip install torch==$(TORCH_VERSION); \
fi
endef

STAMP := $(VENV)/.mmvis_clip-installed

DATA ?= data/synthetic_vis
DEMO_CONFIG ?= configs/stc/stc_r18_fpn_1xb4-8e_synthetic.py
DEMO_WORK_DIR ?= work_dirs/demo/$(basename $(notdir $(DEMO_CONFIG)))
PYTEST_ARGS ?=

.PHONY: install test test-gpu demo data lint clean-demo check-cuda-build

install: $(STAMP)

$(STAMP): requirements.txt requirements/build.txt requirements/tests.txt setup.cfg setup.py \
		mmvis_clip/structures/rle_runs.c mmvis_clip/structures/vis_format_scan.c \
		mmvis_clip/evaluation/functional/greedy_match.c
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(call install_torch,$(PY),$(TORCH_INDEX))
	@# mmcv's C++ ops compiled against that torch (11-17 min on 2 idle cores; pip
	@# caches the CPU wheel), with its CUDA ops when CUDA is given or a GPU is
	@# visible to a CUDA torch: tools/misc/build_mmcv.sh says how
	EXPECT_CUDA=$(CUDA) tools/misc/build_mmcv.sh $(PY) $(if $(CUDA),cuda,auto)
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

# The GPU recipe's CUDA build, proven without a GPU: a throw-away environment
# with the CUDA torch, nvcc from NVIDIA's pip wheels (unless CUDA_HOME names
# a toolkit of the same CUDA major), mmcv's CUDA ops compiled for
# TORCH_CUDA_ARCH_LIST, checked with mmcv.ops.get_compiling_cuda_version().
# 86 min measured on 2 cores shared with other work; not part of `make test`.
CHECK_VENV ?= /tmp/mmvis_clip-cuda-build
CHECK_CUDA ?= cu130
check-cuda-build:
	@test -x $(CHECK_VENV)/bin/python || $(PYTHON) -m venv $(CHECK_VENV)
	$(call install_torch,$(CHECK_VENV)/bin/python,https://download.pytorch.org/whl/$(CHECK_CUDA))
	TORCH_CUDA_ARCH_LIST="$${TORCH_CUDA_ARCH_LIST:-8.0;9.0}" tools/misc/build_mmcv.sh $(CHECK_VENV)/bin/python cuda
