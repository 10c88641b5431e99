"""Inference: build a trained model and run it on a stream of frames."""
from .clip_video_segmenter import ClipVideoSegmenter
from .frame_result import FrameResult
from .frame_source import (FrameError, FrameSizeError, FrameSource,
                           natural_sort_key, read_frame)
from .inference import init_vis_model
from .result_track_summaries import ResultTrackSummaries
from .stream_pipeline import build_stream_pipeline
from .video_segmenter import (SEGMENTER_REGISTRY, FrameVideoSegmenter,
                              StreamEndedError, VideoSegmenter,
                              register_segmenter)

__all__ = [
    'ClipVideoSegmenter', 'FrameError', 'FrameResult', 'FrameSizeError',
    'FrameSource', 'FrameVideoSegmenter', 'ResultTrackSummaries',
    'SEGMENTER_REGISTRY', 'StreamEndedError', 'VideoSegmenter',
    'build_stream_pipeline', 'init_vis_model', 'natural_sort_key',
    'read_frame', 'register_segmenter'
]
