"""YouTube-VIS / OVIS evaluation functions."""
from ...utils.vis_format import VISFormatError, load_json
from .hota import (HOTA_AVERAGES, HOTA_STAT_NAMES, HOTAUnavailableError,
                   evaluate_hota, hota_from_parsed)
from .ovis_occlusion import (OCCLUSION_LEVELS, OCCLUSION_SCORES,
                             occlusion_levels, occlusion_score)
from .sequence_iou import sequence_mask_iou
from .track_votes import TrackSummary, TrackVotes
from .video_results import VideoResults
from .vis_annotations import (VideoInfo, VideoInstance, VISGroundTruth,
                              parse_ground_truth, parse_results,
                              parse_video_results, read_results_list,
                              results_video_ids)
from .vis_eval import (AREA_RANGES, OCCLUSION_STAT_NAMES, OVIS_STAT_NAMES,
                       VIS_STAT_NAMES, VISEval, evaluate_vis, format_vis_stats)
from .vis_results_io import dump_vis_results, load_vis_results
from .vis_results_masks import (VideoFrames, dataset_video_frames,
                                decode_frame_masks, frame_stems,
                                instance_id_map, kept_results,
                                write_results_as_id_masks)

__all__ = [
    'AREA_RANGES', 'HOTA_AVERAGES', 'HOTA_STAT_NAMES', 'HOTAUnavailableError',
    'OCCLUSION_LEVELS', 'OCCLUSION_SCORES', 'OCCLUSION_STAT_NAMES',
    'OVIS_STAT_NAMES', 'VIS_STAT_NAMES', 'VISEval', 'VISFormatError',
    'VISGroundTruth', 'TrackSummary', 'TrackVotes', 'VideoFrames',
    'VideoInfo', 'VideoInstance', 'VideoResults',
    'dataset_video_frames', 'decode_frame_masks', 'dump_vis_results',
    'evaluate_hota', 'evaluate_vis', 'format_vis_stats', 'hota_from_parsed',
    'frame_stems', 'instance_id_map', 'kept_results', 'load_json',
    'load_vis_results', 'occlusion_levels', 'occlusion_score',
    'parse_ground_truth', 'parse_results', 'parse_video_results',
    'read_results_list', 'results_video_ids', 'sequence_mask_iou',
    'write_results_as_id_masks'
]
