"""YouTube-VIS / OVIS evaluation functions."""
from ...utils.vis_format import VISFormatError, load_json
from .hota import (HOTA_AVERAGES, HOTA_STAT_NAMES, HOTAUnavailableError,
                   evaluate_hota, hota_from_parsed)
from .ovis_occlusion import (OCCLUSION_LEVELS, OCCLUSION_SCORES,
                             occlusion_levels, occlusion_score)
from .sequence_iou import sequence_mask_iou
from .vis_annotations import (VideoInfo, VideoInstance, VISGroundTruth,
                              parse_ground_truth, parse_results)
from .vis_eval import (AREA_RANGES, OCCLUSION_STAT_NAMES, OVIS_STAT_NAMES,
                       VIS_STAT_NAMES, VISEval, evaluate_vis, format_vis_stats)
from .vis_results_io import dump_vis_results, load_vis_results

__all__ = [
    'AREA_RANGES', 'HOTA_AVERAGES', 'HOTA_STAT_NAMES', 'HOTAUnavailableError',
    'OCCLUSION_LEVELS', 'OCCLUSION_SCORES', 'OCCLUSION_STAT_NAMES',
    'OVIS_STAT_NAMES', 'VIS_STAT_NAMES', 'VISEval', 'VISFormatError',
    'VISGroundTruth', 'VideoInfo', 'VideoInstance', 'dump_vis_results',
    'evaluate_hota', 'evaluate_vis', 'format_vis_stats', 'hota_from_parsed',
    'load_json', 'load_vis_results', 'occlusion_levels', 'occlusion_score',
    'parse_ground_truth', 'parse_results', 'sequence_mask_iou'
]
