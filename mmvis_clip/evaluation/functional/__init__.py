"""YouTube-VIS / OVIS evaluation functions (the results format they read
is :mod:`mmvis_clip.structures`)."""
from ...utils.deprecation import moved_names
from .hota import (HOTA_AVERAGES, HOTA_STAT_NAMES, HOTAUnavailableError,
                   evaluate_hota, hota_from_parsed)
from .sequence_iou import sequence_mask_iou
from .vis_eval import (AREA_RANGES, OCCLUSION_STAT_NAMES, OVIS_STAT_NAMES,
                       VIS_STAT_NAMES, VISEval, evaluate_vis, format_vis_stats)

__all__ = [
    'AREA_RANGES', 'HOTA_AVERAGES', 'HOTA_STAT_NAMES', 'HOTAUnavailableError',
    'OCCLUSION_STAT_NAMES', 'OVIS_STAT_NAMES', 'VIS_STAT_NAMES', 'VISEval',
    'evaluate_hota', 'evaluate_vis', 'format_vis_stats', 'hota_from_parsed',
    'sequence_mask_iou'
]

# the results format's names, here until the next release
__getattr__ = moved_names(__name__, {
    name: 'mmvis_clip.structures'
    for name in ('OCCLUSION_LEVELS', 'OCCLUSION_SCORES', 'TrackSummary',
                 'TrackVotes', 'VISFormatError', 'VISGroundTruth',
                 'VideoFrames', 'VideoInfo', 'VideoInstance', 'VideoResults',
                 'dataset_video_frames', 'decode_frame_masks',
                 'dump_vis_results', 'frame_stems', 'instance_id_map',
                 'kept_results', 'load_json', 'load_vis_results',
                 'occlusion_levels', 'occlusion_score', 'parse_ground_truth',
                 'parse_results', 'parse_video_results', 'read_results_list',
                 'results_video_ids', 'write_results_as_id_masks')
})
