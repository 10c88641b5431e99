"""Metrics registered in mmdet's ``METRICS``."""
from .vis_metric import VISMetric

__all__ = ['VISMetric']
