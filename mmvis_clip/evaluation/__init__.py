"""Evaluation: the YouTube-VIS / OVIS evaluator and the VIS metric."""
from . import functional, metrics  # noqa: F401
from .functional import VISEval, evaluate_vis
from .metrics import VISMetric

__all__ = ['VISEval', 'VISMetric', 'evaluate_vis']
