"""Clip mask generators: an object's masks on all frames of a clip."""
from .clip_mask_loss import clip_mask_bce_loss
from .condinst_clip_mask_generator import CondInstClipMaskGenerator
from .yolact_clip_mask_generator import YolactClipMaskGenerator, crop_masks

__all__ = [
    'CondInstClipMaskGenerator', 'YolactClipMaskGenerator',
    'clip_mask_bce_loss', 'crop_masks'
]
