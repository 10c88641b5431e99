"""Heads of the video instance segmentation models."""
from .cico_head import CiCoHead
from .cico_mask_head import CiCoMaskHead
from .stc_mask_head import STCMaskHead, num_dynamic_params
from .stc_track_head import STCTrackHead

__all__ = [
    'CiCoHead', 'CiCoMaskHead', 'STCMaskHead', 'STCTrackHead',
    'num_dynamic_params'
]
