"""Clip mask generators: an object's masks on all frames of a clip."""
from .clip_mask_loss import (BaseClipMaskGenerator, box_area, box_region,
                             clip_mask_bce_loss, crop_masks, enlarge_boxes,
                             frame_decay_weights)
from .condinst_clip_mask_generator import CondInstClipMaskGenerator
from .yolact_clip_mask_generator import YolactClipMaskGenerator

__all__ = [
    'BaseClipMaskGenerator', 'CondInstClipMaskGenerator',
    'YolactClipMaskGenerator', 'box_area', 'box_region',
    'clip_mask_bce_loss', 'crop_masks', 'enlarge_boxes',
    'frame_decay_weights'
]
