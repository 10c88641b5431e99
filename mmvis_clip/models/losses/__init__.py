"""Losses of the video instance segmentation models."""
from .cosine_track_loss import CosineTrackLoss
from .kernel_consistency_loss import KernelConsistencyLoss
from .multi_pos_contrastive_loss import MultiPosContrastiveLoss

__all__ = [
    'CosineTrackLoss', 'KernelConsistencyLoss', 'MultiPosContrastiveLoss'
]
