"""Tensor helpers of the clip models."""
from ...utils.deprecation import moved_names
from .clip_boxes import circumscribed_boxes, matching_frames, scale_boxes
from .clip_features import (clips_to_frames, frames_to_clips, per_frame,
                            temporal_mean)
from .clip_ground_truth import check_instance_ids, clip_ground_truth
from .inference_stages import (inference_stage, mark_module_stage,
                               record_inference_stages)
from .mask_iou import mask_iou
from .random_subset import random_subset

__all__ = [
    'circumscribed_boxes', 'matching_frames', 'scale_boxes',
    'clips_to_frames', 'frames_to_clips', 'per_frame', 'temporal_mean',
    'check_instance_ids', 'clip_ground_truth', 'inference_stage',
    'mark_module_stage', 'record_inference_stages', 'mask_iou',
    'random_subset'
]

# moved names, here until the next release
__getattr__ = moved_names(
    __name__,
    dict(
        ClipSchedule='mmvis_clip.models.vis.clip_schedule',
        inflate_conv_weight='mmvis_clip.models.inflation.conv_inflation',
        inflate_state_dict='mmvis_clip.models.inflation.conv_inflation'))
