"""Heads of the video instance segmentation models."""
from .stc_mask_head import STCMaskHead, num_dynamic_params
from .stc_track_head import STCTrackHead

__all__ = ['STCMaskHead', 'STCTrackHead', 'num_dynamic_params']
