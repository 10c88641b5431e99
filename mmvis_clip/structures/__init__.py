"""The YouTube-VIS / OVIS results format: masks as RLE, annotation and
results files, a frame's tracked instances, a track's vote and a video's
results.

Imported alike by the evaluator, the stream API and the tools; it needs
NumPy, pycocotools and orjson, never torch.
"""
from .frame_result import FrameResult
from .ovis_occlusion import (OCCLUSION_LEVELS, OCCLUSION_SCORES,
                             occlusion_levels, occlusion_score)
from .rle import decode_rle, encode_mask, encode_masks, segmentation_rle
from .track_votes import TrackSummary, TrackVotes
from .video_results import VideoResults
from .vis_annotations import (VideoInfo, VideoInstance, VISGroundTruth,
                              parse_ground_truth, parse_results,
                              parse_video_results, read_results_list,
                              results_video_ids)
from .vis_format import VISFormatError, load_json
from .vis_results_io import dump_vis_results, load_vis_results
from .vis_results_masks import (VideoFrames, dataset_video_frames,
                                decode_frame_masks, frame_stems,
                                instance_id_map, kept_results,
                                write_results_as_id_masks)

__all__ = [
    'FrameResult', 'OCCLUSION_LEVELS', 'OCCLUSION_SCORES', 'TrackSummary',
    'TrackVotes', 'VISFormatError', 'VISGroundTruth', 'VideoFrames',
    'VideoInfo', 'VideoInstance', 'VideoResults', 'dataset_video_frames',
    'decode_frame_masks', 'decode_rle', 'dump_vis_results', 'encode_mask',
    'encode_masks', 'frame_stems', 'instance_id_map', 'kept_results',
    'load_json', 'load_vis_results', 'occlusion_levels', 'occlusion_score',
    'parse_ground_truth', 'parse_results', 'parse_video_results',
    'read_results_list', 'results_video_ids', 'segmentation_rle',
    'write_results_as_id_masks'
]
