"""Layers of the clip models."""
from .replicate_time_conv3d import ReplicateTimeConv3d

__all__ = ['ReplicateTimeConv3d']
