"""The GPU checks (``make test-gpu``): skipped where CUDA is not available.
"""
import os.path as osp
import sys

# the CPU tests' helpers (scripted frames, tiny models)
sys.path.insert(0, osp.dirname(osp.dirname(__file__)))
