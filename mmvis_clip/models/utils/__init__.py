from .clip_boxes import circumscribed_boxes, matching_frames
from .clip_features import (clips_to_frames, frames_to_clips, per_frame,
                            temporal_mean)
from .clip_ground_truth import check_instance_ids, clip_ground_truth
from .clip_schedule import ClipSchedule
from .conv_inflation import inflate_conv_weight, inflate_state_dict
from .inference_stages import (inference_stage, mark_module_stage,
                               record_inference_stages)
from .random_subset import random_subset

__all__ = [
    'circumscribed_boxes', 'matching_frames', 'clips_to_frames',
    'frames_to_clips', 'per_frame', 'temporal_mean', 'check_instance_ids',
    'clip_ground_truth', 'ClipSchedule', 'inflate_conv_weight',
    'inflate_state_dict', 'inference_stage', 'mark_module_stage',
    'record_inference_stages', 'random_subset'
]
